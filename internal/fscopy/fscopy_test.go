package fscopy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testOwner is who copies belong to: another user when the test may chown.
func testOwner() Owner {
	if os.Geteuid() == 0 {
		return Owner{UID: 1000, GID: 1001}
	}
	return Owner{UID: os.Geteuid(), GID: os.Getegid()}
}

// fixture is a host directory with the sources and a directory acting as
// the container's root, side by side.
type fixture struct {
	host, root string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{host: filepath.Join(base, "host"), root: filepath.Join(base, "root")}
	mkdir(t, f.host)
	mkdir(t, filepath.Join(f.root, "srv"))
	return f
}

func (f fixture) src(name string) string { return filepath.Join(f.host, name) }
func (f fixture) ctr(name string) string { return filepath.Join(f.root, name) }
func (f fixture) sync(t *testing.T, changes ...Change) Stats {
	t.Helper()
	st, err := Sync(f.root, changes, testOwner())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return st
}

func TestSyncNewFile(t *testing.T) {
	f := newFixture(t)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	writeFile(t, f.src("index.html"), "<h1>hi</h1>", 0o640)
	if err := os.Chtimes(f.src("index.html"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st := f.sync(t, Change{Source: f.src("index.html"), Target: "/srv/www/css/../index.html"})
	got := f.ctr("srv/www/index.html")
	assertContent(t, got, "<h1>hi</h1>")
	assertMeta(t, got, 0o640, testOwner())
	if fi, _ := os.Stat(got); !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime %v; want the source's %v", fi.ModTime(), mtime)
	}
	// the missing parent was made, owned by the container's user
	assertMeta(t, f.ctr("srv/www"), 0o755|os.ModeDir, testOwner())
	if st.Copied != 1 || st.Dirs != 1 || st.Bytes != 11 {
		t.Errorf("stats %+v; want 1 copied, 1 dir, 11 bytes", st)
	}
	leftovers, _ := filepath.Glob(f.ctr("srv/www/.berth-sync-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestSyncReplacesAtomically(t *testing.T) {
	f := newFixture(t)
	writeFile(t, f.ctr("srv/app.js"), "old content, longer than the new", 0o644)
	// a reader holding the old file keeps the old content: the new file is
	// a new inode renamed over it
	old, err := os.Open(f.ctr("srv/app.js"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	writeFile(t, f.src("app.js"), "new", 0o644)
	f.sync(t, Change{Source: f.src("app.js"), Target: "/srv/app.js"})
	assertContent(t, f.ctr("srv/app.js"), "new")
	b := make([]byte, 3)
	if _, err := old.Read(b); err != nil || string(b) != "old" {
		t.Errorf("the old file read %q, %v; want it untouched", b, err)
	}
}

func TestSyncSkipsUnchanged(t *testing.T) {
	f := newFixture(t)
	writeFile(t, f.src("a.txt"), "a", 0o644)
	c := Change{Source: f.src("a.txt"), Target: "/srv/a.txt"}
	f.sync(t, c)
	if st := f.sync(t, c); st.Unchanged != 1 || st.Copied != 0 {
		t.Errorf("second sync %+v; want the file found unchanged", st)
	}
	writeFile(t, f.src("a.txt"), "b", 0o644) // same size, new mtime
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(f.src("a.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	if st := f.sync(t, c); st.Copied != 1 {
		t.Errorf("sync after an edit %+v; want a copy", st)
	}
	assertContent(t, f.ctr("srv/a.txt"), "b")
}

func TestSyncDeletes(t *testing.T) {
	f := newFixture(t)
	writeFile(t, f.ctr("srv/gone.txt"), "x", 0o644)
	writeFile(t, f.ctr("srv/dir/inner/deep.txt"), "x", 0o644)
	st := f.sync(t,
		Change{Target: "/srv/gone.txt", Delete: true},
		Change{Target: "/srv/dir", Delete: true},
		Change{Target: "/srv/never-there", Delete: true},
		Change{Target: "/no/such/parent", Delete: true},
		// the source was deleted after the change was seen
		Change{Source: f.src("vanished"), Target: "/srv/vanished"},
	)
	for _, p := range []string{"srv/gone.txt", "srv/dir"} {
		if _, err := os.Lstat(f.ctr(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there", p)
		}
	}
	if st.Deleted != 2 {
		t.Errorf("stats %+v; want 2 deletions", st)
	}
	if _, err := Sync(f.root, []Change{{Target: "/", Delete: true}}, testOwner()); err == nil {
		t.Error("deleting / was not refused")
	}
}

func TestSyncKinds(t *testing.T) {
	f := newFixture(t)
	mkdir(t, f.src("assets"))
	if err := os.Chmod(f.src("assets"), 0o750); err != nil {
		t.Fatal(err)
	}
	// a symlink is copied as a symlink, even one that points at a host secret
	if err := os.Symlink("/etc/shadow", f.src("link")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.src("file"), "now a file", 0o644)
	writeFile(t, f.ctr("srv/file/was-a-dir"), "x", 0o644)
	if err := syscall.Mkfifo(f.src("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.sync(t,
		Change{Source: f.src("assets"), Target: "/srv/assets"},
		Change{Source: f.src("link"), Target: "/srv/link"},
		Change{Source: f.src("file"), Target: "/srv/file"},
		Change{Source: f.src("fifo"), Target: "/srv/fifo"},
	)
	assertMeta(t, f.ctr("srv/assets"), 0o750|os.ModeDir, testOwner())
	if link, err := os.Readlink(f.ctr("srv/link")); err != nil || link != "/etc/shadow" {
		t.Errorf("link %q, %v; want the symlink itself", link, err)
	}
	assertContent(t, f.ctr("srv/file"), "now a file")
	if _, err := os.Lstat(f.ctr("srv/fifo")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a named pipe was copied")
	}
	if len(st.Skipped) != 1 || st.Skipped[0] != f.src("fifo") {
		t.Errorf("skipped %v; want the named pipe", st.Skipped)
	}
}

// TestSyncCannotEscape plants symlinks in the container that point out of
// it; every write and delete must stay under the root.
func TestSyncCannotEscape(t *testing.T) {
	tests := []struct {
		name   string
		plant  func(f fixture, outside string) error
		change func(f fixture) Change
		// inside is where the write must land, relative to the root
		inside func(outside string) string
	}{
		{
			name: "absolute symlinked parent",
			plant: func(f fixture, outside string) error {
				mkdir(t, f.ctr(outside)) // the link's text, read in the container
				return os.Symlink(outside, f.ctr("srv/data"))
			},
			change: func(f fixture) Change { return Change{Source: f.src("x"), Target: "/srv/data/x"} },
			// the container reads the link's text as a path of its own
			inside: func(outside string) string { return filepath.Join(outside, "x") },
		},
		{
			name: "relative symlink climbing out",
			plant: func(f fixture, _ string) error {
				mkdir(t, f.ctr("outside"))
				return os.Symlink("../../../../../../outside", f.ctr("srv/data"))
			},
			change: func(f fixture) Change { return Change{Source: f.src("x"), Target: "/srv/data/x"} },
			inside: func(string) string { return "outside/x" },
		},
		{
			name: "the target itself a symlink to a host file",
			plant: func(f fixture, outside string) error {
				return os.Symlink(filepath.Join(outside, "secret"), f.ctr("srv/x"))
			},
			change: func(f fixture) Change { return Change{Source: f.src("x"), Target: "/srv/x"} },
			inside: func(string) string { return "srv/x" },
		},
		{
			name:   "dot-dot in the target",
			plant:  func(fixture, string) error { return nil },
			change: func(f fixture) Change { return Change{Source: f.src("x"), Target: "/../../../x"} },
			inside: func(string) string { return "x" },
		},
		{
			name:   "a delete through a symlinked parent",
			plant:  func(f fixture, outside string) error { return os.Symlink(outside, f.ctr("srv/data")) },
			change: func(f fixture) Change { return Change{Target: "/srv/data/secret", Delete: true} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			outside := filepath.Join(filepath.Dir(f.root), "outside")
			writeFile(t, filepath.Join(outside, "secret"), "host secret", 0o600)
			writeFile(t, f.src("x"), "payload", 0o644)
			if err := tt.plant(f, outside); err != nil {
				t.Fatal(err)
			}
			f.sync(t, tt.change(f))
			assertContent(t, filepath.Join(outside, "secret"), "host secret")
			entries, _ := os.ReadDir(outside)
			if len(entries) != 1 {
				t.Errorf("the host directory outside the root holds %d entries; want only its secret", len(entries))
			}
			if tt.inside != nil {
				assertContent(t, f.ctr(tt.inside(outside)), "payload")
			}
		})
	}
}

func TestSyncDanglingSymlinkParent(t *testing.T) {
	f := newFixture(t)
	outside := filepath.Join(filepath.Dir(f.root), "outside")
	mkdir(t, outside)
	// the link leads out of the container from the host's point of view,
	// and nowhere from the container's
	if err := os.Symlink(outside, f.ctr("srv/data")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.src("x"), "payload", 0o644)
	_, err := Sync(f.root, []Change{{Source: f.src("x"), Target: "/srv/data/x"}}, testOwner())
	if err == nil || !strings.Contains(err.Error(), "which does not exist in the container") {
		t.Fatalf("Sync: %v; want the dangling link named", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("%d entries written outside the root", len(entries))
	}
}

func TestSyncAbsoluteSymlinkResolvesInRoot(t *testing.T) {
	f := newFixture(t)
	// /srv/data -> /var/lib/data, as a volume mount point often is
	mkdir(t, f.ctr("var/lib/data"))
	if err := os.Symlink("/var/lib/data", f.ctr("srv/data")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.src("x"), "payload", 0o644)
	f.sync(t, Change{Source: f.src("x"), Target: "/srv/data/x"})
	assertContent(t, f.ctr("var/lib/data/x"), "payload")
}

func TestLookupOwner(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", 0o644)
	writeFile(t, filepath.Join(root, "etc/group"), "root:x:0:\napp:x:1000:\nstaff:x:50:app\n", 0o644)
	tests := []struct {
		spec string
		want Owner
		err  string
	}{
		{"", Owner{0, 0}, ""},
		{"app", Owner{1000, 1000}, ""},
		{"app:staff", Owner{1000, 50}, ""},
		{"1000", Owner{1000, 1000}, ""},
		{"1234", Owner{1234, 0}, ""},
		{"1234:77", Owner{1234, 77}, ""},
		{"ghost", Owner{}, `user "ghost" in the container`},
		{"app:nogroup", Owner{}, `user "app:nogroup" in the container`},
	}
	for _, tt := range tests {
		got, err := LookupOwner(root, tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("LookupOwner(%q) = %v, %v; want error %q", tt.spec, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("LookupOwner(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
		}
	}
}

func TestLookupOwnerReadsTheContainersFiles(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	// the container's /etc is a symlink that would lead to the host's files
	// if followed from the host; in the container it is its own /etc2
	writeFile(t, filepath.Join(base, "etc/passwd"), "app:x:5:5::/:/bin/sh\n", 0o644)
	writeFile(t, filepath.Join(root, "etc2/passwd"), "app:x:7:7::/:/bin/sh\n", 0o644)
	if err := os.Symlink("../etc2", filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	got, err := LookupOwner(root, "app")
	if err != nil || got != (Owner{7, 7}) {
		t.Errorf("LookupOwner = %v, %v; want the container's app (7:7)", got, err)
	}
	// no /etc/passwd at all: numbers work, names do not
	empty := t.TempDir()
	if got, err := LookupOwner(empty, "42"); err != nil || got != (Owner{42, 0}) {
		t.Errorf("LookupOwner(42) without passwd = %v, %v", got, err)
	}
	if _, err := LookupOwner(empty, "app"); err == nil {
		t.Error("a user name resolved without /etc/passwd")
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string, perm os.FileMode) {
	t.Helper()
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func assertContent(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Errorf("%s holds %q, %v; want %q", p, b, err, want)
	}
}

func assertMeta(t *testing.T, p string, mode os.FileMode, owner Owner) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s mode %v; want %v", p, fi.Mode(), mode)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != owner.UID || int(st.Gid) != owner.GID {
		t.Errorf("%s owned by %d:%d; want %d:%d", p, st.Uid, st.Gid, owner.UID, owner.GID)
	}
}

// TestSyncMountPoint: a target that is a mount point (a bind-mounted file)
// cannot be renamed over; it is written in place.
func TestSyncMountPoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	f := newFixture(t)
	mounted := filepath.Join(filepath.Dir(f.root), "mounted.conf")
	writeFile(t, mounted, "old", 0o644)
	writeFile(t, f.ctr("srv/app.conf"), "", 0o644)
	if err := syscall.Mount(mounted, f.ctr("srv/app.conf"), "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(f.ctr("srv/app.conf"), syscall.MNT_DETACH) })
	writeFile(t, f.src("app.conf"), "new content", 0o644)
	f.sync(t, Change{Source: f.src("app.conf"), Target: "/srv/app.conf"})
	assertContent(t, f.ctr("srv/app.conf"), "new content")
	leftovers, _ := filepath.Glob(f.ctr("srv/.berth-sync-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
