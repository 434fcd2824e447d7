package treetar

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc", "app.conf"), "x=1\n", 0o640)
	mustWrite(t, filepath.Join(root, "empty"), "", 0o600)
	must(t, os.Symlink("etc/app.conf", filepath.Join(root, "link")))
	must(t, os.Link(filepath.Join(root, "etc", "app.conf"), filepath.Join(root, "hard")))
	must(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	must(t, os.Mkdir(filepath.Join(root, "tmp"), 0o777))
	must(t, os.Chmod(filepath.Join(root, "tmp"), fs.ModeSticky|0o777))
	owned := os.Geteuid() == 0
	if owned {
		must(t, os.Lchown(filepath.Join(root, "empty"), 1234, 5678))
	}

	var buf bytes.Buffer
	if err := Write(&buf, root, Options{}); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		typ     byte
		mode    int64
		link    string
		content string
	}
	want := map[string]entry{
		"empty":        {tar.TypeReg, 0o600, "", ""},
		"etc/":         {tar.TypeDir, 0o755, "", ""},
		"etc/app.conf": {tar.TypeReg, 0o640, "", "x=1\n"},
		"fifo":         {tar.TypeFifo, 0o600, "", ""},
		"hard":         {tar.TypeLink, 0o640, "etc/app.conf", ""},
		"link":         {tar.TypeSymlink, 0o777, "etc/app.conf", ""},
		"tmp/":         {tar.TypeDir, 0o1777, "", ""},
	}
	var order []string
	tr := tar.NewReader(&buf)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, hdr.Name)
		content, _ := io.ReadAll(tr)
		w, ok := want[hdr.Name]
		if !ok {
			t.Errorf("unexpected entry %q", hdr.Name)
			continue
		}
		got := entry{hdr.Typeflag, hdr.Mode & 0o7777, hdr.Linkname, string(content)}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", hdr.Name, got, w)
		}
		if hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner names %q/%q leak the host's user database", hdr.Name, hdr.Uname, hdr.Gname)
		}
		if owned && hdr.Name == "empty" && (hdr.Uid != 1234 || hdr.Gid != 5678) {
			t.Errorf("empty: owner %d:%d, want 1234:5678", hdr.Uid, hdr.Gid)
		}
	}
	wantOrder := []string{"empty", "etc/", "etc/app.conf", "fifo", "hard", "link", "tmp/"}
	if len(order) != len(wantOrder) {
		t.Fatalf("entries %q, want %q", order, wantOrder)
	}
	for i := range order {
		if order[i] != wantOrder[i] {
			t.Fatalf("entries %q, want %q (lexical)", order, wantOrder)
		}
	}
}

func TestWriteMissingRoot(t *testing.T) {
	err := Write(io.Discard, filepath.Join(t.TempDir(), "nope"), Options{})
	if err == nil {
		t.Fatal("no error for a missing root")
	}
}

func mustWrite(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), mode))
	must(t, os.Chmod(path, mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
