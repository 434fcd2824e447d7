package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

func TestE2EPullImagesLoad(t *testing.T) {
	e := newE2E(t)
	reg := testenv.StartRegistry(t)
	web := reg.Push(t, testenv.BusyboxImage(t, testenv.WithFiles(map[string]testenv.File{
		"/www/index.html": {Content: []byte("hello"), Mode: 0o644},
	})), "demo/web:1")
	e.writeFile("compose.yaml", "name: shop\nservices:\n  web:\n    image: "+web+"\n  db:\n    image: "+web+"\n")

	r := e.mustBerth("pull")
	if !strings.Contains(r.stderr, "Pulled") {
		t.Errorf("pull printed no progress:\n%s", r.stderr)
	}
	// a second pull downloads nothing
	r = e.mustBerth("pull")
	if strings.Contains(r.stderr, "Downloading") {
		t.Errorf("second pull downloaded again:\n%s", r.stderr)
	}

	r = e.mustBerth("images", "--format", "json")
	var rows []imageRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("images --format json: %v\n%s", err, r.stdout)
	}
	if len(rows) != 2 || !strings.HasSuffix(rows[0].Repository, "demo/web") || rows[0].Tag != "1" || rows[0].Size == 0 || !strings.HasPrefix(rows[0].ID, "sha256:") {
		t.Errorf("images: %+v", rows)
	}
	r = e.mustBerth("images")
	if !strings.Contains(r.stdout, "REPOSITORY") || !strings.Contains(r.stdout, "demo/web") {
		t.Errorf("images table:\n%s", r.stdout)
	}

	// a missing image names the image and the registry
	e.writeFile("compose.yaml", "services:\n  x:\n    image: "+reg.Host()+"/nope:latest\n")
	r = e.berth("pull")
	if r.code != 1 || !strings.Contains(r.stderr, reg.Host()+"/nope:latest") || !strings.Contains(r.stderr, "not found in registry "+reg.Host()) {
		t.Errorf("missing image: exit %d\n%s", r.code, r.stderr)
	}
}

func TestE2EImageLoadArchives(t *testing.T) {
	e := newE2E(t)
	img := testenv.BusyboxImage(t)
	for _, tc := range []struct{ name, path, want string }{
		{"docker", testenv.WriteDockerArchive(t, img, "loaded/docker:1"), "docker.io/loaded/docker:1"},
		{"oci", testenv.WriteOCIArchive(t, img, "loaded/oci:2"), "docker.io/loaded/oci:2"},
	} {
		r := e.mustBerth("image", "load", "-i", tc.path)
		if !strings.Contains(r.stdout, "Loaded image: "+tc.want) {
			t.Errorf("%s archive: %q", tc.name, r.stdout)
		}
	}
}

func TestConnectFailsFast(t *testing.T) {
	e := &e2e{t: t, dir: t.TempDir()}
	e.writeFile("compose.yaml", "services:\n  x:\n    image: busybox\n")
	t.Chdir(e.dir)
	start := time.Now()
	var out, errb strings.Builder
	code := run(t.Context(), []string{"berth", "--address", "/nope.sock", "pull"}, &out, &errb)
	if code != 1 || time.Since(start) > 3*time.Second {
		t.Fatalf("exit %d after %s", code, time.Since(start))
	}
	msg := strings.TrimSpace(errb.String())
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "/nope.sock") || !strings.Contains(msg, "install-runtime.sh") {
		t.Errorf("message: %q", msg)
	}
}
