package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// rotate moves the current file to <path>.1 (and each <path>.N one up) and starts a new
// one. Every step is a rename, so a follower holding the old file open reads it to its end
// before it turns to the new file. When renaming fails the writer goes on appending to the
// current file and tries again with the next record.
func (w *Writer) rotate() error {
	var errs []error
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("rotate log %s: %w", w.path, err))
		}
		w.f = nil
	}
	if err := shiftFiles(w.path, w.opt.MaxFiles); err != nil {
		errs = append(errs, err)
	}
	if err := w.open(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// shiftFiles renames <path>.N to <path>.N+1, newest last, removing what would go beyond
// maxFiles in all (stale files of an earlier, larger max-file included), then the current
// file to <path>.1.
func shiftFiles(path string, maxFiles int) error {
	indexes, err := rotatedIndexes(path)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", path, err)
	}
	var errs []error
	for _, n := range slices.Backward(indexes) {
		from := rotatedName(path, n)
		if n+1 >= maxFiles {
			if err := os.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("rotate log: %w", err))
			}
			continue
		}
		if err := os.Rename(from, rotatedName(path, n+1)); err != nil {
			errs = append(errs, fmt.Errorf("rotate log: %w", err))
		}
	}
	if maxFiles > 1 {
		err = os.Rename(path, rotatedName(path, 1))
	} else {
		err = os.Remove(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("rotate log: %w", err))
	}
	return errors.Join(errs...)
}

func rotatedName(path string, n int) string {
	return path + "." + strconv.Itoa(n)
}

// rotatedIndexes lists the N of the files <path>.N, ascending (newest first).
func rotatedIndexes(path string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prefix := filepath.Base(path) + "."
	var indexes []int
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || suffix == "" || suffix[0] == '0' || strings.Trim(suffix, "0123456789") != "" {
			continue
		}
		if n, err := strconv.Atoi(suffix); err == nil && !e.IsDir() {
			indexes = append(indexes, n)
		}
	}
	slices.Sort(indexes)
	return indexes, nil
}
