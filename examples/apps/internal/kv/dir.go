package kv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dir stores each key as a file of that name directly in Path, holding the value's bytes.
// That is the whole on-disk format: `ls` and `cat` in the volume show the data.
type Dir struct {
	Path string
}

// Get returns the value of key, or ErrNotFound.
func (d Dir) Get(_ context.Context, key string) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(d.Path, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return data, err
}

// Put writes a temporary dot file and renames it over the key: a reader, or a crash,
// sees the old value or the new one, never half of one.
func (d Dir) Put(_ context.Context, key string, value []byte) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.Path, ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; a value is as readable as any file in the volume
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(d.Path, key))
}

// List returns the keys starting with prefix, sorted; dot files are not keys.
func (d Dir) List(_ context.Context, prefix string) ([]string, error) {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && ValidKey(name) == nil && strings.HasPrefix(name, prefix) {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Check writes and removes a probe file: a volume mounted read-only, or full, is unhealthy.
func (d Dir) Check(_ context.Context) error {
	f, err := os.CreateTemp(d.Path, ".probe-*")
	if err != nil {
		return fmt.Errorf("storage %s is not writable: %w", d.Path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
