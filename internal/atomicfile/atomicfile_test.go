package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file: %v", len(entries), entries)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestWriteFileMissingDirectoryFails(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// A rename gives the file a new inode; WriteInPlace must keep it, or a container that
// bind-mounted the file keeps reading the old content.
func TestWriteInPlaceKeepsInode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	if err := WriteInPlace(path, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := inode(t, path)
	if err := WriteInPlace(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Fatalf("content %q", got)
	}
	if inode(t, path) != before {
		t.Fatal("WriteInPlace changed the inode")
	}
	if err := WriteFile(path, []byte("renamed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if inode(t, path) == before {
		t.Fatal("WriteFile kept the inode: it did not rename")
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for _, v := range []string{"first", "second"} {
		if err := ReplaceJSON(path, v, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != `"`+v+`"` {
			t.Fatalf("after %s: %q, %v", v, b, err)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want the file alone", entries, err)
	}
}
