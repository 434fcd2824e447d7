package fscopy

// cp: docker cp's rules for where a copy lands, between the host and a container's
// root, every container path resolved with that root as "/".

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
)

// CpOptions are cp's flags.
type CpOptions struct {
	// Archive keeps owners; Follow copies what a symlink source points to.
	Archive, Follow bool
	// Warn receives what could not be kept (an owner, a special file).
	Warn func(string)
}

func (o CpOptions) internal() copyOptions {
	return copyOptions{archive: o.Archive, follow: o.Follow, warn: o.Warn}
}

// CopyIn copies a host path into the container whose root is root.
func CopyIn(hostPath, root, ctrPath string, o CpOptions) error {
	return copyPath("/", hostPath, root, ctrPath, o.internal())
}

// CopyOut copies a container path to the host.
func CopyOut(root, ctrPath, hostPath string, o CpOptions) error {
	return copyPath(root, ctrPath, "/", hostPath, o.internal())
}

// TarIn extracts a tar stream into the container at ctrPath.
func TarIn(r io.Reader, root, ctrPath string, o CpOptions) error {
	return copyFromTar(r, root, ctrPath, o.internal())
}

// TarOut writes the container path as a tar stream.
func TarOut(w io.Writer, root, ctrPath string, o CpOptions) error {
	return copyToTar(w, root, ctrPath, o.internal())
}

type copyOptions struct {
	archive, follow bool
	warn            func(string)
}

// copyArg is a cp path as docker cp reads it.
type copyArg struct {
	clean    string // cleaned and absolute within its root
	contents bool   // ends in "/.": the directory's content, not the directory
	dirOnly  bool   // ends in "/": must be a directory
}

// parseCopyPath reads a path relative to its root's "/", before cleaning
// loses the trailing "/" or "/.".
func parseCopyPath(p string) copyArg {
	return copyArg{
		clean:    path.Clean("/" + p),
		contents: p == "." || strings.HasSuffix(p, "/."),
		dirOnly:  strings.HasSuffix(p, "/"),
	}
}

// base is the name the copy gets inside an existing directory; "." means
// the content goes there directly.
func (a copyArg) base() string {
	if a.contents || a.clean == "/" {
		return "."
	}
	return path.Base(a.clean)
}

// copyEnd is one side of a copy: an entry of a directory opened as an
// os.Root, so that nothing done through it leaves the directory; "." is
// the directory itself.
type copyEnd struct {
	dir  *os.Root
	name string
}

// resolveIn follows the symlinks of p as if top were "/" and returns the
// path they lead to, relative to top.
func resolveIn(top, p string) (string, error) {
	full, err := securejoin.SecureJoin(top, p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(top, full)
	if err != nil {
		return "", err
	}
	return path.Clean("/" + rel), nil
}

// openDir opens directory p under top, resolving symlinks with top as "/"
// without a window for them to be swapped (openat2 RESOLVE_IN_ROOT).
func openDir(top, p string) (*os.Root, error) {
	h, err := pathrs.OpenInRoot(top, p)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", h.Fd()))
}

// openEntry opens the parent directory of p and names p in it.
func openEntry(top, p string) (copyEnd, error) {
	if p == "/" {
		dir, err := openDir(top, "/")
		return copyEnd{dir, "."}, err
	}
	dir, err := openDir(top, path.Dir(p))
	return copyEnd{dir, path.Base(p)}, err
}

// openSource opens what a copy reads. The last element is a symlink to
// copy as such unless follow is set or the path must be a directory.
func openSource(top string, a copyArg, follow bool) (copyEnd, fs.FileInfo, error) {
	target := a.clean
	if follow || a.contents || a.dirOnly {
		var err error
		if target, err = resolveIn(top, a.clean); err != nil {
			return copyEnd{}, nil, err
		}
	}
	end, err := openEntry(top, target)
	if err != nil {
		return copyEnd{}, nil, fmt.Errorf("%s: %w", a.clean, noSuch(err))
	}
	fi, err := end.dir.Lstat(end.name)
	if err == nil && (a.contents || a.dirOnly) && !fi.IsDir() {
		err = fmt.Errorf("%s: not a directory", a.clean)
	}
	if err == nil && a.contents {
		var sub *os.Root
		sub, err = end.dir.OpenRoot(end.name)
		end.dir.Close()
		end = copyEnd{sub, "."}
	}
	if err != nil {
		if end.dir != nil {
			end.dir.Close()
		}
		return copyEnd{}, nil, fmt.Errorf("%s: %w", a.clean, noSuch(err))
	}
	return end, fi, nil
}

func noSuch(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return errors.New("no such file or directory")
	}
	return err
}

// openDest decides where a copy lands, by docker cp's rules: into an
// existing directory under the source's name (or its content, for "/."),
// over an existing file, or as a new entry whose parent must exist.
// Symlinks in the destination are followed, within its root.
func openDest(top string, a copyArg, src fs.FileInfo, srcBase string) (copyEnd, error) {
	target, err := resolveIn(top, a.clean)
	if err != nil {
		return copyEnd{}, err
	}
	end, err := openEntry(top, target)
	if err != nil {
		return copyEnd{}, fmt.Errorf("destination directory %s does not exist", path.Dir(a.clean))
	}
	fi, err := end.dir.Lstat(end.name)
	switch {
	case err == nil && fi.IsDir():
		dir := end.dir
		if end.name != "." {
			dir, err = end.dir.OpenRoot(end.name)
			end.dir.Close()
			if err != nil {
				return copyEnd{}, err
			}
		}
		return copyEnd{dir, srcBase}, nil
	case err == nil && src.IsDir():
		err = fmt.Errorf("cannot copy a directory to a file: %s", a.clean)
	case err == nil && a.dirOnly:
		err = fmt.Errorf("%s: not a directory", a.clean)
	case err == nil:
		return end, nil
	case errors.Is(err, fs.ErrNotExist) && a.dirOnly && !src.IsDir():
		err = fmt.Errorf("destination directory %s does not exist", a.clean)
	case errors.Is(err, fs.ErrNotExist):
		return end, nil
	}
	end.dir.Close()
	return copyEnd{}, err
}

// copyPath copies srcPath under srcTop to dstPath under dstTop; each top is
// "/" of its side ("/" for the host, /proc/PID/root for a container).
func copyPath(srcTop, srcPath, dstTop, dstPath string, o copyOptions) error {
	sa, da := parseCopyPath(srcPath), parseCopyPath(dstPath)
	src, fi, err := openSource(srcTop, sa, o.follow)
	if err != nil {
		return err
	}
	defer src.dir.Close()
	dst, err := openDest(dstTop, da, fi, sa.base())
	if err != nil {
		return err
	}
	defer dst.dir.Close()
	return copyTree(src.dir, src.name, dst.dir, dst.name, o)
}

// copyTree copies an entry and, for a directory, everything under it;
// symlinks are copied as links and never followed.
func copyTree(src *os.Root, sname string, dst *os.Root, dname string, o copyOptions) error {
	fi, err := src.Lstat(sname)
	if err != nil {
		return err
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if err := makeDir(dst, dname); err != nil {
			return err
		}
		names, err := readDirNames(src, sname)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := copyTree(src, path.Join(sname, n), dst, path.Join(dname, n), o); err != nil {
				return err
			}
		}
		if dname == "." {
			return nil // an existing directory receiving content keeps its own metadata
		}
	case mode.IsRegular():
		if err := copyFile(src, sname, dst, dname); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := src.Readlink(sname)
		if err != nil {
			return err
		}
		if err := clearFor(dst, dname, mode); err != nil {
			return err
		}
		if err := dst.Symlink(target, dname); err != nil {
			return err
		}
	default:
		o.warnf("skipping %s: %s files are not copied", sname, mode.Type())
		return nil
	}
	return setMeta(dst, dname, metaOf(fi), o)
}

func copyFile(src *os.Root, sname string, dst *os.Root, dname string) error {
	in, err := src.OpenFile(sname, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeIn(dst, dname, in)
}

// writeFile writes a regular file, truncating an existing one in place (a
// bind-mounted file stays mounted) and replacing anything else.
func writeIn(dst *os.Root, name string, r io.Reader) error {
	if err := clearFor(dst, name, 0); err != nil {
		return err
	}
	out, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// clearFor makes way for a new entry of the given mode.
func clearFor(root *os.Root, name string, mode fs.FileMode) error {
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir() && mode.IsDir():
		return nil
	case fi.IsDir():
		return fmt.Errorf("cannot overwrite directory %s with a non-directory", name)
	case mode.IsDir():
		return fmt.Errorf("cannot overwrite non-directory %s with a directory", name)
	case fi.Mode().IsRegular() && mode.IsRegular():
		return nil
	}
	return root.Remove(name)
}

func makeDir(root *os.Root, name string) error {
	if err := clearFor(root, name, fs.ModeDir); err != nil {
		return err
	}
	if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func readDirNames(root *os.Root, name string) ([]string, error) {
	d, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// meta is what a copy keeps of an entry beside its content.
type meta struct {
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
}

func metaOf(fi fs.FileInfo) meta {
	m := meta{mode: fi.Mode(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.uid, m.gid = int(st.Uid), int(st.Gid)
	}
	return m
}

// setMeta applies mode and times, and owners in archive mode; without it
// new entries belong to root, the container's root user, as with docker cp.
func setMeta(root *os.Root, name string, m meta, o copyOptions) error {
	if o.archive {
		if err := root.Lchown(name, m.uid, m.gid); err != nil {
			return err
		}
	}
	if m.mode&fs.ModeSymlink != 0 {
		return nil
	}
	if err := root.Chmod(name, m.mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return root.Chtimes(name, m.mtime, m.mtime)
}

func (o copyOptions) warnf(format string, args ...any) {
	if o.warn != nil {
		o.warn(fmt.Sprintf(format, args...))
	}
}

// copyToTar writes the source as a tar stream, named by its base name (its
// content at the top for "/.").
func copyToTar(w io.Writer, top, p string, o copyOptions) error {
	a := parseCopyPath(p)
	src, _, err := openSource(top, a, o.follow)
	if err != nil {
		return err
	}
	defer src.dir.Close()
	name := a.base()
	if name == "." {
		name = ""
	}
	tw := tar.NewWriter(w)
	if err := tarTree(tw, src.dir, src.name, name, o); err != nil {
		return err
	}
	return tw.Close()
}

func tarTree(tw *tar.Writer, root *os.Root, sname, tname string, o copyOptions) error {
	fi, err := root.Lstat(sname)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		o.warnf("skipping %s: sockets are not copied", sname)
		return nil
	}
	if tname != "" {
		if err := tarEntry(tw, root, sname, tname, fi); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return nil
	}
	names, err := readDirNames(root, sname)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := tarTree(tw, root, path.Join(sname, n), path.Join(tname, n), o); err != nil {
			return err
		}
	}
	return nil
}

func tarEntry(tw *tar.Writer, root *os.Root, sname, tname string, fi fs.FileInfo) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = root.Readlink(sname); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	// names are the host's, not the container's: owners go by number
	hdr.Name, hdr.Uname, hdr.Gname = tname, "", ""
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := root.OpenFile(sname, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// copyFromTar extracts a tar stream into an existing directory; entry
// names cannot climb out of it and links in it cannot be followed out.
func copyFromTar(r io.Reader, top, p string, o copyOptions) error {
	a := parseCopyPath(p)
	target, err := resolveIn(top, a.clean)
	if err != nil {
		return err
	}
	dir, err := openDir(top, target)
	if err != nil {
		return fmt.Errorf("destination %s must be an existing directory when copying a tar stream: %w", a.clean, noSuch(err))
	}
	defer dir.Close()
	tr := tar.NewReader(r)
	var dirs []*tar.Header
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
		name := tarName(hdr.Name)
		if name == "" {
			continue
		}
		if err := extract(dir, name, hdr, tr, o); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	// directories last: their content changed their times, and a read-only
	// mode would have kept the content out
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setMeta(dir, tarName(dirs[i].Name), tarMeta(dirs[i]), o); err != nil {
			return err
		}
	}
	return nil
}

// tarName confines an entry name to the extraction directory: "" is the
// directory itself.
func tarName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func tarMeta(hdr *tar.Header) meta {
	return meta{mode: hdr.FileInfo().Mode(), uid: hdr.Uid, gid: hdr.Gid, mtime: hdr.ModTime}
}

func extract(dir *os.Root, name string, hdr *tar.Header, r io.Reader, o copyOptions) error {
	if parent := path.Dir(name); parent != "." {
		if err := dir.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return makeDir(dir, name) // metadata once the content is in
	case tar.TypeReg:
		if err := writeIn(dir, name, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := clearFor(dir, name, fs.ModeSymlink); err != nil {
			return err
		}
		if err := dir.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		if err := clearFor(dir, name, fs.ModeSymlink); err != nil {
			return err
		}
		return dir.Link(tarName(hdr.Linkname), name)
	default:
		o.warnf("skipping %s: tar entries of type %q are not copied", name, hdr.Typeflag)
		return nil
	}
	return setMeta(dir, name, tarMeta(hdr), o)
}
