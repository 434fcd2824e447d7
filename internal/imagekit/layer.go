package imagekit

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer.
type File struct {
	// Content is the file's bytes, or the link target when Mode has fs.ModeSymlink.
	Content []byte
	// Mode holds the permission bits plus optionally fs.ModeDir, fs.ModeSymlink,
	// fs.ModeSetuid, fs.ModeSetgid and fs.ModeSticky; zero permissions mean 0644 for
	// files and 0755 for directories.
	Mode fs.FileMode
	// UID and GID own the entry (root when zero).
	UID, GID int
}

// passwd and group give `exec` and programs that look up users a root and a nobody.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group  = "root:x:0:\nnobody:x:65534:\n"
)

// BusyboxLayer makes a root file system of the static busybox binary: the binary at
// /bin/busybox with a link in /bin for every applet, /etc/passwd and /etc/group, /root and
// a world-writable sticky /tmp. A dynamic busybox is refused: the image has no libc.
func BusyboxLayer(binary string) (v1.Layer, error) {
	if err := CheckStatic(binary); err != nil {
		return nil, fmt.Errorf("busybox base: %w (on Debian: apt-get install busybox-static)", err)
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("busybox base: %w", err)
	}
	out, err := exec.Command(binary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox base: list applets of %s: %w", binary, err)
	}
	files := map[string]File{
		"bin":         {Mode: fs.ModeDir | 0o755},
		"etc":         {Mode: fs.ModeDir | 0o755},
		"root":        {Mode: fs.ModeDir | 0o700},
		"tmp":         {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		"bin/busybox": {Content: data, Mode: 0o755},
		"etc/passwd":  {Content: []byte(passwd)},
		"etc/group":   {Content: []byte(group)},
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			files["bin/"+applet] = File{Content: []byte("busybox"), Mode: fs.ModeSymlink | 0o777}
		}
	}
	return NewLayer(files)
}

// CheckStatic refuses a dynamically linked binary: an image without libc cannot run it.
func CheckStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("read %s: %w", binary, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", binary)
		}
	}
	return nil
}

// ProgramLayer compiles the Go main package in dir into a layer holding /app. It links
// statically (CGO_ENABLED=0) because the image has no libc, and uses -trimpath so the
// binary, and so the image ID, does not depend on where the sources are checked out.
func ProgramLayer(ctx context.Context, dir string) (v1.Layer, error) {
	scratch, err := os.MkdirTemp("", "imagekit-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	bin := filepath.Join(scratch, "app")
	if err := CompileProgram(ctx, dir, bin); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return NewLayer(map[string]File{"app": {Content: data, Mode: 0o755}})
}

// CompileProgram builds the Go main package in dir into a static binary at out, for
// the host's architecture: what a Dockerfile then copies into an image.
func CompileProgram(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, output)
	}
	return nil
}

// NewLayer turns files (paths relative to the image root → File) into a gzip-compressed
// OCI layer. Entries are written in sorted order with a fixed time and owner, so the same
// files always give the same digest; sorting also puts every directory before its
// children. Parent directories are not added: a layer above the base must not override
// the base's directory modes (think of /tmp's sticky bit).
func NewLayer(files map[string]File) (v1.Layer, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range names {
		if err := writeEntry(tw, name, files[name]); err != nil {
			return nil, fmt.Errorf("layer entry %q: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer: %w", err)
	}
	data := buf.Bytes()
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	// Compressed caching: the digest, the size and the archive share one gzip pass.
	return tarball.LayerFromOpener(opener, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

func writeEntry(tw *tar.Writer, name string, f File) error {
	if name == "" || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("want a clean path relative to the image root")
	}
	hdr := &tar.Header{Name: name, Mode: tarMode(f.Mode), Uid: f.UID, Gid: f.GID, ModTime: epoch, Format: tar.FormatPAX}
	switch {
	case f.Mode&fs.ModeDir != 0:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		return tw.WriteHeader(hdr)
	case f.Mode&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(f.Content)
		return tw.WriteHeader(hdr)
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Content))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Content)
		return err
	}
}

// tarMode maps Go's file mode to tar's mode bits, filling in the defaults File documents.
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
