package fscopy

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCpPathParsing(t *testing.T) {
	tests := []struct {
		in       string
		want     copyArg
		wantBase string
	}{
		{"/etc/hosts", copyArg{clean: "/etc/hosts"}, "hosts"},
		{"etc/", copyArg{clean: "/etc", dirOnly: true}, "etc"},
		{"/data/.", copyArg{clean: "/data", contents: true}, "."},
		{"/", copyArg{clean: "/", dirOnly: true}, "."},
		{"../../x", copyArg{clean: "/x"}, "x"},
	}
	for _, tt := range tests {
		got := parseCopyPath(tt.in)
		if got != tt.want || got.base() != tt.wantBase {
			t.Errorf("%q: %+v base %q, want %+v base %q", tt.in, got, got.base(), tt.want, tt.wantBase)
		}
	}
}

func write(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cpWorld is a fake container root and a host directory.
func cpWorld(t *testing.T) (ctr, host string) {
	ctr, host = t.TempDir(), t.TempDir()
	write(t, ctr+"/etc/hosts", "container hosts", 0o644)
	write(t, ctr+"/app/conf/a.conf", "a", 0o640)
	write(t, ctr+"/app/run.sh", "#!/bin/sh", 0o755)
	if err := os.Symlink("/etc/hosts", ctr+"/app/hosts-link"); err != nil {
		t.Fatal(err)
	}
	write(t, host+"/in.txt", "from host", 0o600)
	return ctr, host
}

func TestCpRules(t *testing.T) {
	ctr, host := cpWorld(t)
	o := copyOptions{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// file to a new name, then into an existing directory under its own name
	must(copyPath(ctr, "/etc/hosts", "/", host+"/h1", o))
	must(os.Mkdir(host+"/dir", 0o755))
	must(copyPath(ctr, "etc/hosts", "/", host+"/dir", o))
	if read(t, host+"/h1") != "container hosts" || read(t, host+"/dir/hosts") != "container hosts" {
		t.Error("file copies differ")
	}
	// a directory to a new name keeps modes; symlinks stay links
	must(copyPath(ctr, "/app", "/", host+"/app-copy", o))
	if fi, err := os.Stat(host + "/app-copy/run.sh"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}
	if fi, err := os.Stat(host + "/app-copy/conf/a.conf"); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("a.conf: %v %v", fi, err)
	}
	if target, err := os.Readlink(host + "/app-copy/hosts-link"); err != nil || target != "/etc/hosts" {
		t.Errorf("hosts-link: %q %v", target, err)
	}
	// into an existing directory: nested; with "/.": merged
	must(copyPath(ctr, "/app", "/", host+"/dir", o))
	must(copyPath(ctr, "/app/.", "/", host+"/dir", o))
	for _, p := range []string{"/dir/app/run.sh", "/dir/run.sh", "/dir/conf/a.conf"} {
		if _, err := os.Stat(host + p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// -L copies what the link points to, resolved in the container
	must(copyPath(ctr, "/app/hosts-link", "/", host+"/followed", copyOptions{follow: true}))
	if read(t, host+"/followed") != "container hosts" {
		t.Error("-L did not follow the link inside the container")
	}
	// host to container
	must(copyPath("/", host+"/in.txt", ctr, "/app/", o))
	if read(t, ctr+"/app/in.txt") != "from host" {
		t.Error("copy into the container failed")
	}
	errorsWanted := []struct{ src, dst, want string }{
		{"/app", host + "/h1", "cannot copy a directory to a file"},
		{"/etc/hosts", host + "/missing/x", "destination directory"},
		{"/etc/hosts", host + "/nodir/", "does not exist"},
		{"/etc/hosts/", host + "/x", "not a directory"},
		{"/nope", host + "/x", "no such file or directory"},
	}
	for _, tt := range errorsWanted {
		if err := copyPath(ctr, tt.src, "/", tt.dst, o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("cp %s %s: %v, want %q", tt.src, tt.dst, err, tt.want)
		}
	}
}

func TestCpSymlinksCannotEscapeTheContainer(t *testing.T) {
	ctr, host := cpWorld(t)
	// the container plants links to the host's "/" and to a host directory
	if err := os.Symlink("/", ctr+"/escape"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../.."+host, ctr+"/climb"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(ctr+host, 0o755); err != nil {
		t.Fatal(err)
	}
	o := copyOptions{}
	for _, dst := range []string{"/escape" + host + "/pwned", "/climb/pwned", "/../../../.." + host + "/pwned"} {
		if err := copyPath("/", host+"/in.txt", ctr, dst, o); err != nil {
			t.Fatalf("cp to %s: %v", dst, err)
		}
		if _, err := os.Stat(host + "/pwned"); err == nil {
			t.Fatalf("cp to %s wrote to the host", dst)
		}
		if read(t, ctr+host+"/pwned") != "from host" {
			t.Errorf("cp to %s: not inside the container", dst)
		}
		_ = os.Remove(ctr + host + "/pwned")
	}
	// reading through the links reads the container's files, never the host's
	write(t, host+"/secret", "host secret", 0o600)
	write(t, ctr+host+"/secret", "container file", 0o600)
	for _, src := range []string{"/escape" + host + "/secret", "/climb/secret"} {
		if err := copyPath(ctr, src, "/", host+"/out", copyOptions{follow: true}); err != nil {
			t.Fatalf("cp from %s: %v", src, err)
		}
		if got := read(t, host+"/out"); got != "container file" {
			t.Errorf("cp from %s read %q", src, got)
		}
	}
	// a tar stream cannot climb out either, by name or through its own links
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []*tar.Header{
		{Name: "../../../../../.." + host + "/tar-pwned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		{Name: "hop", Typeflag: tar.TypeSymlink, Linkname: host},
		{Name: "hop/tar-pwned2", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
	}
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("x"))
		}
	}
	_ = tw.Close()
	err := copyFromTar(&buf, ctr, "/tmp-not-there/..", o)
	for _, p := range []string{host + "/tar-pwned", host + "/tar-pwned2"} {
		if _, statErr := os.Stat(p); statErr == nil {
			t.Errorf("tar extraction wrote %s on the host (err %v)", p, err)
		}
	}
	if _, statErr := os.Stat(ctr + host + "/tar-pwned"); statErr != nil {
		t.Errorf("climbing entry not kept inside: %v", statErr)
	}
	if err == nil {
		t.Error("an entry through an absolute link should fail")
	}
}

func TestCpTarRoundTrip(t *testing.T) {
	ctr, host := cpWorld(t)
	var buf bytes.Buffer
	if err := copyToTar(&buf, ctr, "/app", copyOptions{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "app/ app/conf/ app/conf/a.conf app/hosts-link app/run.sh" {
		t.Errorf("tar entries: %s", got)
	}
	if err := copyFromTar(&buf, "/", host, copyOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(host + "/app/run.sh"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("extracted run.sh: %v %v", fi, err)
	}
	if err := copyFromTar(strings.NewReader(""), "/", host+"/in.txt", copyOptions{}); err == nil {
		t.Error("a tar stream into a file must fail")
	}
}
