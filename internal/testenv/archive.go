package testenv

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/imagekit"
)

// WriteOCIArchive writes img as an OCI image-layout tar (imagekit's, the format
// `berth image load` reads from the examples too) and returns its path. The index entry
// carries org.opencontainers.image.ref.name (the tag) and io.containerd.image.name (ref
// normalized as docker and containerd do: "web:1" → "docker.io/library/web:1"), so
// containerd's import names the image the way berth will look it up.
func WriteOCIArchive(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image-oci.tar")
	if err := imagekit.WriteArchiveFile(out, img, ref); err != nil {
		t.Fatalf("write OCI archive for %s: %v", ref, err)
	}
	return out
}

// WriteDockerArchive writes img in `docker save` format (manifest.json with RepoTags) and
// returns its path; containerd normalizes the tag on import.
func WriteDockerArchive(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	tag, _ := parseTag(t, ref)
	out := filepath.Join(t.TempDir(), "image-docker.tar")
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatalf("write docker archive for %s: %v", ref, err)
	}
	return out
}

// parseTag returns ref as a tag ("latest" when it has none) and its docker-normalized name.
func parseTag(t testing.TB, ref string) (name.Tag, string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("image reference %q: %v", ref, err)
	}
	full, _, err := imagekit.NormalizeRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tag, full
}
