// Package images prepares what the example Dockerfiles build from, with no Docker, no
// registry and no network: the programs under examples/apps compiled to static binaries
// (each app's .bin/app, which its Dockerfile copies), and the base image
// berth-examples/base, the host's busybox-static and nothing else, written as an OCI
// archive for `berth image load`. The build-images command and the end-to-end tests
// share it, so the tests run exactly what the READMEs tell a user to do.
package images

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imagekit"
)

// Repository is the repository prefix of every example image.
const Repository = "berth-examples/"

// BaseRef is the image every example Dockerfile starts FROM.
const BaseRef = Repository + "base:latest"

// Program is one example program: examples/apps/NAME, built into berth-examples/NAME
// by the Dockerfile beside it.
type Program struct {
	Name        string
	Description string
}

// All lists the example programs.
var All = []Program{
	{Name: "web", Description: "notes page; passes /api/ to $API_URL"},
	{Name: "api", Description: "notes JSON API backed by the store service"},
	{Name: "store", Description: "key-value store keeping one file per key in /data"},
	{Name: "worker", Description: "processes queued notes in the store"},
	{Name: "monolith", Description: "notes page, API, storage and processing in one process"},
	{Name: "tests", Description: "integration tests of the notes API, TAP output"},
}

// Binary is where Compile puts a program: the Dockerfile's COPY source.
func (p Program) Binary(appsDir string) string {
	return filepath.Join(appsDir, p.Name, ".bin", "app")
}

// Lookup returns the named programs, or all of them when no name is given.
func Lookup(wanted ...string) ([]Program, error) {
	if len(wanted) == 0 {
		return All, nil
	}
	var out []Program
	for _, n := range wanted {
		p, ok := find(n)
		if !ok {
			return nil, fmt.Errorf("no example program %q; there are: %s", n, strings.Join(names(), ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

func names() []string {
	out := make([]string, len(All))
	for i, p := range All {
		out[i] = p.Name
	}
	return out
}

func find(name string) (Program, bool) {
	for _, p := range All {
		if p.Name == name {
			return p, true
		}
	}
	return Program{}, false
}

// Compile builds the program statically (no libc in the image) for the host's
// architecture, with -trimpath so the binary, and so the image built from it, does
// not depend on where the sources are checked out: an unchanged program gives an
// unchanged image, and `berth up --build` recreates nothing.
func Compile(ctx context.Context, p Program, appsDir string) (string, error) {
	out := p.Binary(appsDir)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := imagekit.CompileProgram(ctx, filepath.Join(appsDir, p.Name), out); err != nil {
		return "", err
	}
	return out, nil
}

// Base is the base image: busybox-static (a shell, wget and nslookup for health checks
// and `berth exec`), /etc/passwd and /tmp, the default PATH. It is reproducible.
func Base(b *imagekit.Builder) (v1.Image, error) {
	layer, err := b.Base()
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Env: []string{imagekit.DefaultPath},
		Cmd: []string{"sh"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "base",
			"org.opencontainers.image.description": "busybox-static, the base of the berth examples",
		},
	}
	return imagekit.Assemble(cfg, imagekit.Layer{Layer: layer, CreatedBy: "imagekit: busybox-static"})
}

// WriteBase writes the base image's OCI archive to outDir/base.tar and returns its
// path and image ID.
func WriteBase(b *imagekit.Builder, outDir string) (path, id string, err error) {
	img, err := Base(b)
	if err != nil {
		return "", "", err
	}
	name, err := img.ConfigName()
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(outDir, "base.tar")
	if err := imagekit.WriteArchiveFile(path, img, BaseRef); err != nil {
		return "", "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, name.String(), nil
}
