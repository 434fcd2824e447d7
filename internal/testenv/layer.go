package testenv

import (
	"fmt"
	"io/fs"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imagekit"
)

// File is one entry of an extra image layer (see WithFiles): imagekit's, whose UID
// and GID let tests of volumes and users have files not owned by root.
type File = imagekit.File

// newLayer turns files (image paths → File) into an OCI layer (imagekit's: sorted,
// fixed times, so the same input gives the same digest). Missing parent directories
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
	return imagekit.NewLayer(entries)
}

// cleanImagePath makes an absolute or relative image path into a tar member name.
func cleanImagePath(p string) (string, error) {
	name := path.Clean("/" + p)[1:]
	if name == "" {
		return "", fmt.Errorf("file path %q: names the root directory", p)
	}
	return name, nil
}
