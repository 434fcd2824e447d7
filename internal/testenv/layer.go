package testenv

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of an extra image layer (see WithFiles).
type File struct {
	// Content is the file's bytes, or the link target when Mode has fs.ModeSymlink.
	Content []byte
	// Mode holds the permission bits (0 means 0644, or 0755 for a directory) plus
	// optionally fs.ModeDir or fs.ModeSymlink.
	Mode fs.FileMode
	// UID and GID own the entry; tests of volumes and users need files not owned by root.
	UID, GID int
}

// layerTime is the fixed mtime of every entry: the same input gives the same digest, so
// images built twice are the same image to containerd and to a registry.
var layerTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// newLayer turns files (image paths → File) into an OCI layer. Missing parent directories
// are added with mode 0755 unless keepDirs says a lower layer already has them: an entry
// for such a directory would override its mode (think /tmp's sticky bit).
func newLayer(files map[string]File, keepDirs map[string]bool) (v1.Layer, error) {
	entries := make(map[string]File, len(files))
	for p, f := range files {
		name, err := cleanImagePath(p)
		if err != nil {
			return nil, err
		}
		entries[name] = f
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok && !keepDirs[dir] {
				entries[dir] = File{Mode: fs.ModeDir | 0o755}
			}
		}
	}
	return tarLayer(entries)
}

// cleanImagePath makes an absolute or relative image path into a tar member name.
func cleanImagePath(p string) (string, error) {
	name := path.Clean("/" + p)[1:]
	if name == "" {
		return "", fmt.Errorf("file path %q: names the root directory", p)
	}
	return name, nil
}

// tarLayer writes entries in sorted order, which puts every parent before its children.
func tarLayer(entries map[string]File) (v1.Layer, error) {
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		if err := writeEntry(tw, name, entries[name]); err != nil {
			return nil, fmt.Errorf("write layer entry %q: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer tar: %w", err)
	}
	data := buf.Bytes()
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	// Compressed caching: every archive write and push reuses one gzip pass.
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

func writeEntry(tw *tar.Writer, name string, f File) error {
	hdr := &tar.Header{
		Name:    name,
		Mode:    tarMode(f.Mode),
		Uid:     f.UID,
		Gid:     f.GID,
		ModTime: layerTime,
		Format:  tar.FormatPAX,
	}
	switch {
	case f.Mode&fs.ModeDir != 0:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		return tw.WriteHeader(hdr)
	case f.Mode&fs.ModeSymlink != 0:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = string(f.Content)
		return tw.WriteHeader(hdr)
	default:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = int64(len(f.Content))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Content)
		return err
	}
}

// tarMode maps Go's file mode to tar's c_mode bits, filling in the defaults File documents.
func tarMode(m fs.FileMode) int64 {
	perm := int64(m.Perm())
	if perm == 0 {
		switch {
		case m&fs.ModeDir != 0:
			perm = 0o755
		case m&fs.ModeSymlink != 0:
			perm = 0o777
		default:
			perm = 0o644
		}
	}
	if m&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	return perm
}
