// Package atomicfile writes berth's state files so that a crash at any point leaves
// either the old content or the new one, never a half-written file: a temporary file
// in the same directory, fsync, rename over the target, fsync of the directory.
//
// One kind of file must not be written this way: a file bind-mounted on its own into a
// running container (its hosts, resolv.conf and hostname). A bind mount holds the
// inode, not the name, so a rename would leave the container reading the old inode for
// ever. Those are rewritten in place with WriteInPlace; their content is small and
// regenerated from state, so a torn write is repaired by the next write.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data atomically and durably; perm applies to a new file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// Replace replaces path with data atomically for every reader and against a crash of
// berth, without waiting for the disk: for state that a crash of the machine makes
// moot (what it describes lives in the kernel: running tasks, interfaces being made)
// and that its readers take as missing when they cannot parse it. Two waits for the
// disk per file cost up to a third of up's time beside containers being created.
func Replace(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

// ReplaceJSON marshals v and writes it with Replace.
func ReplaceJSON(path string, v any, perm os.FileMode) error {
	return writeJSON(path, v, perm, false)
}

func write(path string, data []byte, perm os.FileMode, durable bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// WriteJSON marshals v and writes it atomically.
func WriteJSON(path string, v any, perm os.FileMode) error {
	return writeJSON(path, v, perm, true)
}

func writeJSON(path string, v any, perm os.FileMode, durable bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return write(path, b, perm, durable)
}

// WriteInPlace rewrites path keeping its inode: for files bind-mounted into a running
// container, which a rename would detach (see the package doc).
func WriteInPlace(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
