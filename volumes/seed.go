package volumes

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Seed copies what the image holds at path (inside rootfs) into the volume
// directory dst, with modes, owners and symlinks, as Docker fills a new
// named volume. path is resolved inside rootfs, so an image's symlinks
// cannot make berth copy the host's files. A path the image lacks seeds
// nothing.
func Seed(rootfs, path, dst string) error {
	src, err := securejoin.SecureJoin(rootfs, path)
	if err != nil {
		return fmt.Errorf("seed volume from %s: %w", path, err)
	}
	info, err := os.Lstat(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("seed volume from %s: %w", path, err)
	}
	if !info.IsDir() {
		return nil
	}
	// the volume root takes the mode and owner of the image's directory
	if err := copyMeta(dst, info); err != nil {
		return fmt.Errorf("seed volume from %s: %w", path, err)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if err := copyEntry(p, filepath.Join(dst, rel), d); err != nil {
			return fmt.Errorf("seed volume from %s: %w", filepath.Join(path, rel), err)
		}
		return nil
	})
}

// copyEntry copies one file, directory or symlink; WalkDir never follows
// symlinks, so a link is copied as a link.
func copyEntry(src, dst string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case d.IsDir():
		if err := os.Mkdir(dst, info.Mode().Perm()); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case info.Mode().IsRegular():
		if err := copyFile(src, dst, info.Mode().Perm()); err != nil {
			return err
		}
	default:
		return nil // devices, sockets and fifos are not volume content
	}
	return copyMeta(dst, info)
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMeta gives dst the owner and (for non-links) the mode of info.
func copyMeta(dst string, info fs.FileInfo) error {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	return os.Chmod(dst, info.Mode().Perm()|info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}
