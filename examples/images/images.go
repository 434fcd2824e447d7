// Package images lists the example images and builds them with imagekit: each is one of
// the programs under examples/apps on the busybox base, named berth-examples/NAME:latest.
// The build-images command and the end-to-end tests share this list, so the tests run
// exactly what the READMEs tell a user to build.
package images

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imagekit"
)

// Repository is the repository prefix of every example image.
const Repository = "berth-examples/"

// Image is one example image.
type Image struct {
	// Name is the program's directory under examples/apps and the image's name.
	Name        string
	Description string
	Env         []string
	Port        string
	// Health is the path the image's HEALTHCHECK asks for on Port; empty means none.
	Health string
}

// All lists the example images.
var All = []Image{
	{Name: "web", Description: "notes page; passes /api/ to $API_URL", Port: "80", Health: "/healthz",
		Env: []string{"ADDR=:80", "API_URL=http://api:8080"}},
	{Name: "api", Description: "notes JSON API backed by the store service", Port: "8080", Health: "/healthz",
		Env: []string{"ADDR=:8080", "STORE_URL=http://store:8080"}},
	{Name: "store", Description: "key-value store keeping one file per key in /data", Port: "8080", Health: "/healthz",
		Env: []string{"ADDR=:8080", "DATA_DIR=/data"}},
	{Name: "worker", Description: "processes queued notes in the store",
		Env: []string{"STORE_URL=http://store:8080", "INTERVAL=2s"}},
	{Name: "monolith", Description: "notes page, API, storage and processing in one process", Port: "80", Health: "/healthz",
		Env: []string{"ADDR=:80", "DATA_DIR=/data"}},
	{Name: "tests", Description: "integration tests of the notes API, TAP output",
		Env: []string{"API_URL=http://api:8080"}},
}

// Ref is the image's full reference.
func (img Image) Ref() string { return Repository + img.Name + ":latest" }

// Spec is the imagekit spec of img, whose program lives in appsDir/NAME. The HEALTHCHECK
// is what a published image would carry; Compose files may tune it.
func (img Image) Spec(appsDir string) imagekit.Spec {
	s := imagekit.Spec{
		Ref:     img.Ref(),
		Program: filepath.Join(appsDir, img.Name),
		Env:     img.Env,
		Labels: map[string]string{
			"org.opencontainers.image.title":       img.Name,
			"org.opencontainers.image.description": img.Description,
			"org.opencontainers.image.source":      "https://github.com/berth-dev/berth/tree/main/examples/apps/" + img.Name,
		},
	}
	if img.Port != "" {
		s.ExposedPorts = []string{img.Port}
	}
	if img.Health != "" {
		// busybox wget: its -T option crashes, so the health check's own timeout bounds it
		url := fmt.Sprintf("http://127.0.0.1:%s%s", img.Port, img.Health)
		s.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "wget", "-q", "-O-", url},
			Interval: 5 * time.Second, Timeout: 3 * time.Second, Retries: 3}
	}
	return s
}

// Lookup returns the images with the given names, or all of them when none are given.
func Lookup(wanted ...string) ([]Image, error) {
	if len(wanted) == 0 {
		return All, nil
	}
	var out []Image
	for _, n := range wanted {
		img, ok := find(n)
		if !ok {
			return nil, fmt.Errorf("no example image %q; there are: %s", n, strings.Join(names(), ", "))
		}
		out = append(out, img)
	}
	return out, nil
}

func names() []string {
	out := make([]string, len(All))
	for i, img := range All {
		out[i] = img.Name
	}
	return out
}

func find(name string) (Image, bool) {
	for _, img := range All {
		if img.Name == name {
			return img, true
		}
	}
	return Image{}, false
}

// Built is an image written to an archive.
type Built struct {
	// Path is the archive, outDir/NAME.tar.
	Path string
	// ID is the image ID (its config's digest), as `berth images` shows it: when a
	// program's code changes, the ID changes, and `berth up` recreates its containers.
	ID string
}

// Build builds img with b and writes its archive to outDir/NAME.tar.
func Build(ctx context.Context, b *imagekit.Builder, img Image, appsDir, outDir string) (Built, error) {
	built, err := b.Build(ctx, img.Spec(appsDir))
	if err != nil {
		return Built{}, err
	}
	id, err := built.ConfigName()
	if err != nil {
		return Built{}, err
	}
	path := filepath.Join(outDir, img.Name+".tar")
	if err := imagekit.WriteArchiveFile(path, built, img.Ref()); err != nil {
		return Built{}, fmt.Errorf("write %s: %w", path, err)
	}
	return Built{Path: path, ID: id.String()}, nil
}
