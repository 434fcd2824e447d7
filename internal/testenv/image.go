package testenv

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// busyboxPath is where Debian's busybox-static installs its binary.
const busyboxPath = "/bin/busybox"

// defaultPath is the PATH of Docker's official images; the base has everything in /bin.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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
	spec := ImageSpec{Config: v1.Config{Env: []string{defaultPath}, Cmd: []string{"sh"}}}
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
	spec := ImageSpec{Config: v1.Config{Env: []string{defaultPath}, Entrypoint: []string{"/app"}}}
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
	adds := make([]mutate.Addendum, 0, len(base)+len(spec.Layers))
	for i, layer := range base {
		adds = append(adds, addendum(layer, history[i]))
	}
	for i, files := range spec.Layers {
		layer, err := newLayer(files, baseDirs)
		if err != nil {
			t.Fatalf("build extra layer %d: %v", i+1, err)
		}
		adds = append(adds, addendum(layer, fmt.Sprintf("extra files, layer %d", i+1)))
	}
	img, err := ociImage(spec.Config, adds)
	if err != nil {
		t.Fatalf("build image: %v", err)
	}
	return img
}

func addendum(layer v1.Layer, createdBy string) mutate.Addendum {
	return mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: layerTime}, CreatedBy: "berth testenv: " + createdBy},
	}
}

// ociImage uses OCI media types throughout: containerd, the docker archive writer and the
// registry all accept them, and they are what berth will meet most.
func ociImage(cfg v1.Config, adds []mutate.Addendum) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: layerTime},
		RootFS:       v1.RootFS{Type: "layers"},
		Config:       cfg,
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, adds...)
}

// busyboxLayer stops the test when the host has no static busybox: a dynamic one would
// find no libc inside the image.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	requireExecutable(t, busyboxPath, "apt-get install busybox-static")
	if err := checkStatic(busyboxPath); err != nil {
		skipOrFail(t, "%v (apt-get install busybox-static)", err)
		return nil
	}
	busyboxBase.once.Do(func() { busyboxBase.layer, busyboxBase.err = newBusyboxLayer() })
	if busyboxBase.err != nil {
		t.Fatalf("build busybox layer: %v", busyboxBase.err)
	}
	return busyboxBase.layer
}

func checkStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("read %s: %w", binary, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", binary)
		}
	}
	return nil
}

func newBusyboxLayer() (v1.Layer, error) {
	data, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	files := map[string]File{
		"bin":         {Mode: fs.ModeDir | 0o755},
		"etc":         {Mode: fs.ModeDir | 0o755},
		"root":        {Mode: fs.ModeDir | 0o700},
		"tmp":         {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		"bin/busybox": {Content: data, Mode: 0o755},
		"etc/passwd":  {Content: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		"etc/group":   {Content: []byte("root:x:0:\nnobody:x:65534:\n")},
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			files["bin/"+applet] = File{Content: []byte("busybox"), Mode: fs.ModeSymlink | 0o777}
		}
	}
	return newLayer(files, nil)
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
	b.once.Do(func() { b.layer, b.err = buildGoProgram(dir) })
	if b.err != nil {
		t.Fatalf("go program %s: %v", pkgDir, b.err)
	}
	return b.layer
}

// buildGoProgram links statically (CGO_ENABLED=0) because the image has no libc. The binary
// goes to a scratch directory removed at once: the layer keeps its bytes.
func buildGoProgram(dir string) (v1.Layer, error) {
	out, err := os.MkdirTemp("", "berth-testenv-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, output)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return newLayer(map[string]File{"app": {Content: data, Mode: 0o755}}, nil)
}
