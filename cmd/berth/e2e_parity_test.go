package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

// tarFiles reads a tar archive into name → content (directories as "").
func tarFiles(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = string(b)
	}
}

const volumesStack = `
name: vols
services:
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo made > /made.txt; echo kept > /data/in-volume.txt; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    volumes: [data:/data]
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
    volumes: [cache:/cache]
volumes:
  data: {}
  cache: {}
`

func TestE2EVolumesAndExport(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", volumesStack)
	e.mustBerth("up", "-d", "--wait")

	if r := e.mustBerth("volumes"); !strings.Contains(r.stdout, "DRIVER") || !strings.Contains(r.stdout, "vols_data") || !strings.Contains(r.stdout, "vols_cache") {
		t.Errorf("volumes:\n%s", r.stdout)
	}
	if r := e.mustBerth("volumes", "web", "-q"); r.stdout != "vols_data\n" {
		t.Errorf("volumes web -q: %q", r.stdout)
	}
	r := e.mustBerth("volumes", "--format", "json", "db")
	var row volumeSummary
	if err := json.Unmarshal([]byte(r.stdout), &row); err != nil || row.Name != "vols_cache" || row.Driver != "local" {
		t.Errorf("volumes --format json db: %v %q", err, r.stdout)
	}
	if r := e.berth("volumes", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such service: nosuch") {
		t.Errorf("volumes nosuch: exit %d %s", r.code, r.stderr)
	}

	// a running container's root file system, without its volume
	waitFor(t, "web to write its files", func() bool { return e.berth("exec", "-T", "web", "test", "-f", "/data/in-volume.txt").code == 0 })
	out := filepath.Join(e.dir, "web.tar")
	e.mustBerth("export", "web", "-o", out)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, f)
	f.Close()
	if files["made.txt"] != "made\n" || files["bin/busybox"] == "" {
		t.Errorf("export of a running container lacks its files: made.txt=%q, %d entries", files["made.txt"], len(files))
	}
	if _, ok := files["data/in-volume.txt"]; ok {
		t.Error("export holds the volume's files")
	}

	// a stopped one, to stdout
	e.mustBerth("stop", "web")
	r = e.mustBerth("export", "web")
	if files := tarFiles(t, strings.NewReader(r.stdout)); files["made.txt"] != "made\n" {
		t.Errorf("export of a stopped container: made.txt=%q", files["made.txt"])
	}
	if r := e.berth("export", "--index", "2", "web"); r.code != 1 || !strings.Contains(r.stderr, "no container with index 2") {
		t.Errorf("export --index 2: exit %d %s", r.code, r.stderr)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
