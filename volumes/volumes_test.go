package volumes

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"app_data", true}, {"a.b-c", true}, {"0", true},
		{"", false}, {"../etc", false}, {"a/b", false}, {".hidden", false},
		{"-x", false}, {"a b", false}, {string(make([]byte, 300)), false},
	}
	for _, tt := range tests {
		if err := ValidateName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestLifecycle(t *testing.T) {
	root := t.TempDir()
	m := NewManager(root)
	v, created, err := m.Create(Spec{Name: "p_data", Labels: map[string]string{"k": "v"}})
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	if v.Mountpoint != filepath.Join(root, "volumes", "p_data", "_data") {
		t.Errorf("mountpoint %s", v.Mountpoint)
	}
	if _, created, _ := m.Create(Spec{Name: "p_data"}); created {
		t.Error("second create created again")
	}
	if empty, err := m.IsEmpty(v); err != nil || !empty {
		t.Errorf("new volume empty=%v err=%v", empty, err)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if empty, _ := m.IsEmpty(v); empty {
		t.Error("volume with a file reported empty")
	}
	got, err := m.Get("p_data")
	if err != nil || got.Labels["k"] != "v" {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := m.List()
	if err != nil || len(list) != 1 || list[0].Name != "p_data" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "volumes")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("volumes dir mode: %v %v", fi.Mode(), err)
	}
	if err := m.Remove("p_data"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get("p_data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after remove: %v", err)
	}
	if err := m.Remove("p_data"); err != nil {
		t.Errorf("remove twice: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "volumes")); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestListIgnoresHalfCreated(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "volumes", "crashed", "_data"), 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := NewManager(root).List()
	if err != nil || len(list) != 0 {
		t.Fatalf("list: %v %v", list, err)
	}
}

func TestSeed(t *testing.T) {
	rootfs := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(rootfs, "srv", "data", "sub"), 0o750))
	must(t, os.WriteFile(filepath.Join(rootfs, "srv", "data", "sub", "f.txt"), []byte("seed"), 0o640))
	must(t, os.Symlink("sub/f.txt", filepath.Join(rootfs, "srv", "data", "link")))
	// an absolute link in the image must resolve inside the image
	must(t, os.Symlink("/srv/data", filepath.Join(rootfs, "alias")))
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600))
	must(t, os.Symlink(host, filepath.Join(rootfs, "escape")))

	dst := t.TempDir()
	must(t, Seed(rootfs, "/alias", dst))
	b, err := os.ReadFile(filepath.Join(dst, "sub", "f.txt"))
	if err != nil || string(b) != "seed" {
		t.Fatalf("seeded file: %q %v", b, err)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "link")); target != "sub/f.txt" {
		t.Errorf("link copied as %q", target)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o750 {
		t.Errorf("volume root mode %v, want the image's 0750", fi.Mode().Perm())
	}

	escaped := t.TempDir()
	must(t, Seed(rootfs, "/escape", escaped))
	if _, err := os.Stat(filepath.Join(escaped, "secret")); err == nil {
		t.Fatal("seed followed a symlink out of the image")
	}
	missing := t.TempDir()
	must(t, Seed(rootfs, "/nope", missing))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
