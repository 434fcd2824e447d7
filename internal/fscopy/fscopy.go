// Package fscopy writes host files into a container's filesystem seen from
// the host (/proc/PID/root of a running task, or any directory acting as
// "/"). Every container path is resolved with openat2 RESOLVE_IN_ROOT, so a
// symlink in the container, absolute or relative, is followed as the
// container would follow it and never leads out of the root; the last
// element of a path is never followed at all. Files are replaced atomically
// (written beside, then renamed), so a process in the container never reads
// half of one.
package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"syscall"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// ProcRoot is the filesystem of the process pid, as the host sees it.
func ProcRoot(pid uint32) string {
	return fmt.Sprintf("/proc/%d/root", pid)
}

// Change is one path to bring up to date in the container.
type Change struct {
	// Source is the host path; it is read without following a symlink at
	// its end (a symlink is copied as a symlink).
	Source string
	// Target is the absolute path in the container.
	Target string
	// Delete removes Target (recursively) instead of copying Source. A
	// Source that no longer exists is a deletion too.
	Delete bool
}

// Owner is who new and copied entries belong to, in the container's ids.
type Owner struct {
	UID, GID int
}

// Stats counts what a Sync did.
type Stats struct {
	// Copied files and symlinks; Unchanged files already had the same
	// size, modification time, mode and owner.
	Copied, Unchanged int
	// Dirs created or brought up to date; Deleted paths removed.
	Dirs, Deleted int
	Bytes         int64
	// Skipped holds paths of kinds that are not copied (sockets, devices,
	// named pipes).
	Skipped []string
}

// Sync applies the changes in order under root. It stops at the first
// failure, naming the path; what it did before stays done. Parents of a
// target are created as needed, owned by owner.
func Sync(root string, changes []Change, owner Owner) (Stats, error) {
	top, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("open container root %s: %w", root, err)
	}
	s := &syncer{top: top, owner: owner, dirs: map[string]*os.Root{}}
	defer s.close()
	for _, c := range changes {
		target := path.Clean("/" + c.Target)
		if err := s.apply(c, target); err != nil {
			return s.stats, fmt.Errorf("sync %s to %s: %w", c.Source, target, err)
		}
	}
	return s.stats, nil
}

// syncer holds the container root and the directories opened in it.
type syncer struct {
	top   *os.File
	owner Owner
	// dirs caches opened directories by container path: a batch of many
	// files in one directory resolves it once.
	dirs  map[string]*os.Root
	stats Stats
}

func (s *syncer) close() {
	for _, d := range s.dirs {
		d.Close()
	}
	s.top.Close()
}

func (s *syncer) apply(c Change, target string) error {
	if c.Delete {
		return s.remove(target)
	}
	fi, err := os.Lstat(c.Source)
	if errors.Is(err, fs.ErrNotExist) {
		return s.remove(target) // gone since the change was seen
	}
	if err != nil {
		return err
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		return s.syncDir(target, fi)
	case mode.IsRegular():
		return s.syncFile(c.Source, target, fi)
	case mode&fs.ModeSymlink != 0:
		return s.syncLink(c.Source, target)
	}
	s.stats.Skipped = append(s.stats.Skipped, c.Source)
	return nil
}

// dir opens directory p of the container, creating it and its missing
// parents (owned by the owner) when create is set.
func (s *syncer) dir(p string, create bool) (*os.Root, error) {
	if d, ok := s.dirs[p]; ok {
		return d, nil
	}
	h, err := pathrs.OpenatInRoot(s.top, p)
	if errors.Is(err, fs.ErrNotExist) && create && p != "/" {
		var parent *os.Root
		if parent, err = s.dir(path.Dir(p), true); err != nil {
			return nil, err
		}
		if err = s.mkdir(parent, path.Base(p), 0o755); err != nil {
			return nil, err
		}
		h, err = pathrs.OpenatInRoot(s.top, p)
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	d, err := os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", h.Fd()))
	if err != nil {
		return nil, err
	}
	s.dirs[p] = d
	return d, nil
}

// forget drops the cached directories at or under p, which is going away.
func (s *syncer) forget(p string) {
	for name, d := range s.dirs {
		if name == p || strings.HasPrefix(name, strings.TrimSuffix(p, "/")+"/") {
			d.Close()
			delete(s.dirs, name)
		}
	}
}

func (s *syncer) mkdir(parent *os.Root, name string, perm fs.FileMode) error {
	if err := parent.Mkdir(name, perm); err != nil {
		if link, lerr := parent.Readlink(name); lerr == nil {
			return fmt.Errorf("%s is a symlink to %s, which does not exist in the container", name, link)
		}
		return err
	}
	s.stats.Dirs++
	if err := parent.Lchown(name, s.owner.UID, s.owner.GID); err != nil {
		return err
	}
	return parent.Chmod(name, perm) // the umask trimmed what Mkdir made
}

// remove deletes target and everything under it; a missing target (or
// parent) is already what was asked for.
func (s *syncer) remove(target string) error {
	if target == "/" {
		return errors.New("refusing to delete the container's root directory")
	}
	parent, err := s.dir(path.Dir(target), false)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	s.forget(target)
	name := path.Base(target)
	if _, err := parent.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := parent.RemoveAll(name); err != nil {
		return err
	}
	s.stats.Deleted++
	return nil
}

// syncDir makes target a directory with the source's mode.
func (s *syncer) syncDir(target string, fi fs.FileInfo) error {
	if target == "/" {
		return nil
	}
	parent, err := s.dir(path.Dir(target), true)
	if err != nil {
		return err
	}
	name, perm := path.Base(target), permOf(fi)
	cur, err := parent.Lstat(name)
	switch {
	case err == nil && cur.IsDir():
		if permOf(cur) == perm {
			return nil
		}
		return parent.Chmod(name, perm)
	case err == nil:
		if err := s.remove(target); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return s.mkdir(parent, name, perm)
}

// syncFile replaces target with a copy of the regular file src, unless
// target already is the same file.
func (s *syncer) syncFile(src, target string, fi fs.FileInfo) error {
	parent, err := s.dir(path.Dir(target), true)
	if err != nil {
		return err
	}
	name := path.Base(target)
	cur, err := parent.Lstat(name)
	if err == nil && s.same(cur, fi) {
		s.stats.Unchanged++
		return nil
	}
	if err == nil && cur.IsDir() {
		if err := s.remove(target); err != nil {
			return err
		}
		if parent, err = s.dir(path.Dir(target), true); err != nil {
			return err
		}
	}
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := tempName()
	n, err := s.writeTemp(parent, tmp, in, fi)
	if err == nil {
		err = parent.Rename(tmp, name)
		if errors.Is(err, syscall.EBUSY) {
			// a mount point (a bind-mounted file) cannot be replaced:
			// write it in place instead
			parent.Remove(tmp)
			n, err = s.writeInPlace(parent, name, in, fi)
		}
	}
	if err != nil {
		parent.Remove(tmp)
		return err
	}
	s.stats.Copied++
	s.stats.Bytes += n
	return nil
}

// same tells whether the container's entry already holds the file: same
// size, modification time, mode and owner.
func (s *syncer) same(cur, src fs.FileInfo) bool {
	if !cur.Mode().IsRegular() || cur.Size() != src.Size() || !cur.ModTime().Equal(src.ModTime()) || permOf(cur) != permOf(src) {
		return false
	}
	st, ok := cur.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == s.owner.UID && int(st.Gid) == s.owner.GID
}

func (s *syncer) writeTemp(dir *os.Root, name string, in *os.File, fi fs.FileInfo) (int64, error) {
	out, err := dir.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return 0, err
	}
	return s.fill(dir, name, out, in, fi)
}

func (s *syncer) writeInPlace(dir *os.Root, name string, in *os.File, fi fs.FileInfo) (int64, error) {
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	out, err := dir.OpenFile(name, os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, err
	}
	return s.fill(dir, name, out, in, fi)
}

// fill copies in to out, then sets owner, mode (after the owner: chown
// clears set-id bits) and modification time.
func (s *syncer) fill(dir *os.Root, name string, out *os.File, in io.Reader, fi fs.FileInfo) (int64, error) {
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Chown(s.owner.UID, s.owner.GID)
	}
	if err == nil {
		err = out.Chmod(permOf(fi))
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = dir.Chtimes(name, fi.ModTime(), fi.ModTime())
	}
	return n, err
}

// syncLink copies a symlink as a symlink: its text is the container's to
// interpret, and nothing here follows it.
func (s *syncer) syncLink(src, target string) error {
	link, err := os.Readlink(src)
	if err != nil {
		return err
	}
	parent, err := s.dir(path.Dir(target), true)
	if err != nil {
		return err
	}
	name := path.Base(target)
	cur, err := parent.Lstat(name)
	if err == nil && cur.Mode()&fs.ModeSymlink != 0 {
		if old, err := parent.Readlink(name); err == nil && old == link {
			s.stats.Unchanged++
			return nil
		}
	}
	if err == nil && cur.IsDir() {
		if err := s.remove(target); err != nil {
			return err
		}
		if parent, err = s.dir(path.Dir(target), true); err != nil {
			return err
		}
	}
	tmp := tempName()
	if err := parent.Symlink(link, tmp); err != nil {
		return err
	}
	err = parent.Lchown(tmp, s.owner.UID, s.owner.GID)
	if err == nil {
		err = parent.Rename(tmp, name)
	}
	if err != nil {
		parent.Remove(tmp)
		return err
	}
	s.stats.Copied++
	return nil
}

func permOf(fi fs.FileInfo) fs.FileMode {
	return fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

var tempCounter atomic.Uint64

// tempName is a name for a file being written beside its target.
func tempName() string {
	return fmt.Sprintf(".berth-sync-%d-%d", os.Getpid(), tempCounter.Add(1))
}
