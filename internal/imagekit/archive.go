package imagekit

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The index annotations containerd's importer reads. With only the OCI ref name ("latest")
// containerd cannot tell the repository, so the image name goes in its own annotation.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// ociLayout is the layout's marker file.
const ociLayout = `{"imageLayoutVersion":"1.0.0"}`

// NormalizeRef returns ref's full name as docker and containerd store it ("web" →
// "docker.io/library/web:latest") and its tag. Digests are refused: an archive names
// an image by tag.
func NormalizeRef(ref string) (fullName, tag string, err error) {
	t, err := name.NewTag(ref)
	if err != nil {
		return "", "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	registry := t.RegistryStr()
	// go-containerregistry spells Docker Hub "index.docker.io"; containerd says "docker.io"
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return fmt.Sprintf("%s/%s:%s", registry, t.RepositoryStr(), t.TagStr()), t.TagStr(), nil
}

// WriteArchive writes img named ref as an OCI image-layout tar: oci-layout, index.json
// and blobs/sha256/*. Entries carry a fixed time and come in a fixed order, so the same
// image gives the same bytes.
func WriteArchive(w io.Writer, img v1.Image, ref string) error {
	fullName, tag, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	blobs, manifest, err := imageBlobs(img)
	if err != nil {
		return fmt.Errorf("write archive of %s: %w", ref, err)
	}
	manifest.Annotations = map[string]string{annotationImageName: fullName, annotationRefName: tag}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{manifest},
	})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := writeArchiveEntries(tw, index, blobs); err != nil {
		return fmt.Errorf("write archive of %s: %w", ref, err)
	}
	return tw.Close()
}

func writeArchiveEntries(tw *tar.Writer, index []byte, blobs []blob) error {
	if err := writeFile(tw, "oci-layout", []byte(ociLayout)); err != nil {
		return err
	}
	if err := writeFile(tw, "index.json", index); err != nil {
		return err
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if err := b.write(tw); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// blob is one content-addressed file of the layout.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

func (b blob) write(tw *tar.Writer) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: "blobs/sha256/" + b.digest.Hex, Mode: 0o644,
		Size: b.size, ModTime: epoch, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	rc, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(tw, rc); err != nil {
		return fmt.Errorf("blob %s: %w", b.digest, err)
	}
	return nil
}

// imageBlobs lists the config, the layers (each digest once: two layers may be equal)
// and the manifest, and returns the manifest's descriptor for the index.
func imageBlobs(img v1.Image) ([]blob, v1.Descriptor, error) {
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	configDigest, err := img.ConfigName()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	blobs := []blob{bytesBlob(configDigest, rawConfig)}
	layers, err := img.Layers()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	seen := map[v1.Hash]bool{configDigest: true}
	for _, l := range layers {
		b, err := layerBlob(l)
		if err != nil {
			return nil, v1.Descriptor{}, err
		}
		if !seen[b.digest] {
			seen[b.digest] = true
			blobs = append(blobs, b)
		}
	}
	return appendManifest(img, blobs)
}

func appendManifest(img v1.Image, blobs []blob) ([]blob, v1.Descriptor, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: mediaType, Digest: digest, Size: int64(len(raw))}
	return append(blobs, bytesBlob(digest, raw)), desc, nil
}

func layerBlob(l v1.Layer) (blob, error) {
	digest, err := l.Digest()
	if err != nil {
		return blob{}, err
	}
	size, err := l.Size()
	if err != nil {
		return blob{}, err
	}
	return blob{digest: digest, size: size, open: l.Compressed}, nil
}

func bytesBlob(digest v1.Hash, data []byte) blob {
	return blob{digest: digest, size: int64(len(data)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// WriteArchiveFile writes the archive to path through a temporary file in the same
// directory and a rename: an interrupted build never leaves a truncated archive behind
// for a later `image load` to choke on.
func WriteArchiveFile(path string, img v1.Image, ref string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := WriteArchive(tmp, img, ref); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
