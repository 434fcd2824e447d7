package testenv

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationImageName is the annotation containerd's importer reads the image name from
// (containerd's images.AnnotationImageName; the client is not ours to import here).
const annotationImageName = "io.containerd.image.name"

// WriteOCIArchive writes img as an OCI image-layout tar and returns its path. The index
// entry carries org.opencontainers.image.ref.name (the tag) and io.containerd.image.name
// (ref normalized as docker and containerd do: "web:1" → "docker.io/library/web:1"), so
// containerd's import names the image the way berth will look it up.
func WriteOCIArchive(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	tag, fullName := parseTag(t, ref)
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatalf("write OCI layout for %s: %v", ref, err)
	}
	annotations := map[string]string{
		ocispec.AnnotationRefName: tag.TagStr(),
		annotationImageName:       fullName,
	}
	if err := p.AppendImage(img, layout.WithAnnotations(annotations)); err != nil {
		t.Fatalf("write OCI layout for %s: %v", ref, err)
	}
	out := filepath.Join(t.TempDir(), "image-oci.tar")
	if err := tarDir(dir, out); err != nil {
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
	return tag, normalizedName(tag)
}

// normalizedName undoes go-containerregistry's "index.docker.io" spelling: containerd and
// docker store Docker Hub images as "docker.io/…".
func normalizedName(tag name.Tag) string {
	registry := tag.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return fmt.Sprintf("%s/%s:%s", registry, tag.RepositoryStr(), tag.TagStr())
}

// tarDir archives dir's tree with paths relative to dir, as importers expect of a layout.
func tarDir(dir, out string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		return err
	}
	return tw.Close()
}
