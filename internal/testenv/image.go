package testenv

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imagekit"
)

// busyboxPath is where Debian's busybox-static installs its binary.
const busyboxPath = "/bin/busybox"

// baseDirs are the base layer's directories; upper layers must not re-create them.
var baseDirs = map[string]bool{"bin": true, "etc": true, "root": true, "tmp": true}

// The base layer is built once per test binary: every image of a run shares it, so
// containerd and the registry store it once, and gzip runs once.
var busyboxBase struct {
	once  sync.Once
	layer v1.Layer
	err   error
}

// goBuilds caches one compiled program layer per package directory (*goBuild values).
var goBuilds sync.Map

type goBuild struct {
	once  sync.Once
	layer v1.Layer
	err   error
}

// BusyboxImage builds an image of the host's busybox-static: /bin/busybox with a link in
// /bin for every applet, /etc/passwd and /etc/group (root, nobody), /root and /tmp. Its
// config sets PATH and Cmd ["sh"]; opts change that and may add layers.
func BusyboxImage(t testing.TB, opts ...ImageOption) v1.Image {
	t.Helper()
	spec := ImageSpec{Config: v1.Config{Env: []string{imagekit.DefaultPath}, Cmd: []string{"sh"}}}
	return buildImage(t, spec, opts, []v1.Layer{busyboxLayer(t)}, []string{"busybox from " + busyboxPath})
}

// GoProgramImage builds the Go main package at pkgDir (relative to the test's directory or
// absolute) as a static binary /app on top of the busybox base, so healthchecks still have
// sh and wget. Entrypoint is ["/app"], Cmd empty. The binary is compiled once per package
// directory and test binary run.
func GoProgramImage(t testing.TB, pkgDir string, opts ...ImageOption) v1.Image {
	t.Helper()
	base := busyboxLayer(t)
	app := goProgramLayer(t, pkgDir)
	spec := ImageSpec{Config: v1.Config{Env: []string{imagekit.DefaultPath}, Entrypoint: []string{"/app"}}}
	history := []string{"busybox from " + busyboxPath, "go build " + filepath.Base(pkgDir)}
	return buildImage(t, spec, opts, []v1.Layer{base, app}, history)
}

// buildImage applies opts to spec and stacks base, then the option layers, into an OCI image.
func buildImage(t testing.TB, spec ImageSpec, opts []ImageOption, base []v1.Layer, history []string) v1.Image {
	t.Helper()
	for _, opt := range opts {
		if err := opt(&spec); err != nil {
			t.Fatalf("image option: %v", err)
		}
	}
	layers := make([]imagekit.Layer, 0, len(base)+len(spec.Layers))
	for i, layer := range base {
		layers = append(layers, imagekit.Layer{Layer: layer, CreatedBy: "berth testenv: " + history[i]})
	}
	for i, files := range spec.Layers {
		layer, err := newLayer(files, baseDirs)
		if err != nil {
			t.Fatalf("build extra layer %d: %v", i+1, err)
		}
		layers = append(layers, imagekit.Layer{Layer: layer, CreatedBy: fmt.Sprintf("berth testenv: extra files, layer %d", i+1)})
	}
	img, err := imagekit.Assemble(spec.Config, layers...)
	if err != nil {
		t.Fatalf("build image: %v", err)
	}
	return img
}

// busyboxLayer stops the test when the host has no static busybox: a dynamic one would
// find no libc inside the image.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	requireExecutable(t, busyboxPath, "apt-get install busybox-static")
	busyboxBase.once.Do(func() { busyboxBase.layer, busyboxBase.err = imagekit.BusyboxLayer(busyboxPath) })
	if busyboxBase.err != nil {
		t.Fatalf("build busybox layer: %v", busyboxBase.err)
	}
	return busyboxBase.layer
}

// goProgramLayer compiles pkgDir once per test binary; later calls, from any test, reuse
// the layer (and the first build error).
func goProgramLayer(t testing.TB, pkgDir string) v1.Layer {
	t.Helper()
	dir, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatalf("go program %s: %v", pkgDir, err)
	}
	v, _ := goBuilds.LoadOrStore(dir, &goBuild{})
	b := v.(*goBuild)
	b.once.Do(func() { b.layer, b.err = imagekit.ProgramLayer(context.Background(), dir) })
	if b.err != nil {
		t.Fatalf("go program %s: %v", pkgDir, b.err)
	}
	return b.layer
}
