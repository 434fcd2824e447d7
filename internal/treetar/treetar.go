// Package treetar owns writing a directory tree as a tar archive, with what
// `docker export` keeps of each entry: type, mode, owner, times, link
// targets, device numbers and hard links. berth exports a container's root
// file system with it.
package treetar

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Options tune Write.
type Options struct {
	// OneFileSystem skips what is mounted below the root (volumes, /proc
	// of a running container's root), as tar --one-file-system does.
	OneFileSystem bool
}

// Write writes the tree under root to w as a tar archive, entries in
// lexical order with paths relative to root ("bin/", "bin/sh"). Sockets,
// which tar cannot hold, are left out.
func Write(w io.Writer, root string, opts Options) error {
	rootInfo, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("archive %s: %w", root, err)
	}
	tw := tar.NewWriter(w)
	a := &archiver{tw: tw, root: root, rootDev: devOf(rootInfo), opts: opts, links: map[inode]string{}}
	if err := filepath.WalkDir(root, a.add); err != nil {
		return fmt.Errorf("archive %s: %w", root, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", root, err)
	}
	return nil
}

type inode struct{ dev, ino uint64 }

type archiver struct {
	tw      *tar.Writer
	root    string
	rootDev uint64
	opts    Options
	links   map[inode]string // first path of each multiply-linked file
}

func (a *archiver) add(path string, d fs.DirEntry, walkErr error) error {
	if walkErr != nil {
		return walkErr
	}
	if path == a.root {
		return nil
	}
	fi, err := d.Info()
	if err != nil {
		return err
	}
	if a.opts.OneFileSystem && devOf(fi) != a.rootDev {
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil
	}
	rel, err := filepath.Rel(a.root, path)
	if err != nil {
		return err
	}
	hdr, err := a.header(path, filepath.ToSlash(rel), fi)
	if err != nil {
		return err
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	return a.copyFile(path, hdr.Size)
}

// header describes an entry: the owner by number only (the host's user
// names mean nothing in a container), and a hard link to the first path
// of a file seen before.
func (a *archiver) header(path, name string, fi fs.FileInfo) (*tar.Header, error) {
	var target string
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if target, err = os.Readlink(path); err != nil {
			return nil, err
		}
	}
	hdr, err := tar.FileInfoHeader(noNames{fi}, target)
	if err != nil {
		return nil, err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && fi.Mode().IsRegular() && st.Nlink > 1 {
		key := inode{uint64(st.Dev), st.Ino}
		if first, seen := a.links[key]; seen {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			a.links[key] = name
		}
	}
	return hdr, nil
}

func (a *archiver) copyFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(a.tw, io.LimitReader(f, size))
	if err == nil && n < size {
		// the file shrank while it was read: keep the archive well-formed
		_, err = io.CopyN(a.tw, zeros{}, size-n)
	}
	if errors.Is(err, tar.ErrWriteTooLong) {
		return nil
	}
	return err
}

func devOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}

// noNames keeps tar.FileInfoHeader from looking owners up in the host's
// user database.
type noNames struct{ fs.FileInfo }

func (noNames) Uname() (string, error) { return "", nil }
func (noNames) Gname() (string, error) { return "", nil }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
