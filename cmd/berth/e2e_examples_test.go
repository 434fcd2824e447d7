package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/examples/images"
	"github.com/berth-dev/berth/internal/imagekit"
	"github.com/berth-dev/berth/internal/testenv"
)

// These tests run the example stacks exactly as their READMEs tell a user to: the same
// Compose files, the same Dockerfiles built by BuildKit from the same binaries and base
// image (go run ./examples/cmd/build-images), the same commands. Only host ports are
// picked free, through the variables the files interpolate.

// examplePrep compiles the example programs and writes the base image's archive once
// per test binary, as build-images does.
var examplePrep struct {
	once sync.Once
	base string
	err  error
}

// examplesPath is a path under examples/: absolute, because the harness changes directory.
func examplesPath(rel string) string {
	return filepath.Join(pkgDir, "..", "..", "examples", filepath.FromSlash(rel))
}

// startExamples loads the base image, builds the images of the Compose files and records
// the host state the test must restore: images and the build cache stay after `down`.
func startExamples(t *testing.T, files ...string) (*e2e, testenv.HostState) {
	e := newE2E(t)
	examplePrep.once.Do(func() {
		apps := examplesPath("apps")
		for _, p := range images.All {
			if _, err := images.Compile(context.Background(), p, apps); err != nil {
				examplePrep.err = err
				return
			}
		}
		dir, err := os.MkdirTemp("", "berth-examples-")
		if err != nil {
			examplePrep.err = err
			return
		}
		examplePrep.base, _, examplePrep.err = images.WriteBase(&imagekit.Builder{}, dir)
	})
	if examplePrep.err != nil {
		t.Fatalf("prepare the example builds: %v", examplePrep.err)
	}
	r := e.mustBerth("image", "load", "-i", examplePrep.base)
	if want := "Loaded image: docker.io/" + images.BaseRef; !strings.Contains(r.stdout, want) {
		t.Fatalf("image load printed %q, want %q", r.stdout, want)
	}
	for _, f := range files {
		e.mustBerth("-f", f, "build")
	}
	return e, testenv.Snapshot(t, e.buildScope())
}

// freePort returns a port nothing listens on at 127.0.0.1, for a published port.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func TestE2EExamplesDevenv(t *testing.T) {
	file := examplesPath("devenv/compose.yaml")
	e, before := startExamples(t, file)
	port := freePort(t)
	t.Setenv("DEVENV_PORT", port)
	base := "http://127.0.0.1:" + port

	e.mustBerth("-f", file, "up", "-d", "--wait")
	if page := exampleGet(t, base+"/"); !strings.Contains(page, "<title>berth notes</title>") {
		t.Fatalf("the page on 127.0.0.1:%s is not the notes page:\n%s", port, page)
	}
	note := examplePost(t, base, "remember the milk")
	// the store sits on the backend network only: the published web service cannot reach it
	if r := e.berth("-f", file, "exec", "-T", "web", "timeout", "2", "wget", "-q", "-O-", "http://store:8080/healthz"); r.code == 0 {
		t.Errorf("web reached the store: %s", r.stdout)
	}

	// down without -v keeps the named volume, and with it the note
	e.mustBerth("-f", file, "down")
	e.mustBerth("-f", file, "up", "-d", "--wait")
	waitForNote(t, base, note.ID, func(n exampleNote) bool { return n.Text == "remember the milk" && n.Status == "done" })

	e.mustBerth("-f", file, "down", "-v")
	testenv.AssertNoLeak(t, e.buildScope(), before)
}

func TestE2EExamplesMonolithSplit(t *testing.T) {
	v1File, v2File := examplesPath("monolith-split/v1/compose.yaml"), examplesPath("monolith-split/v2/compose.yaml")
	e, before := startExamples(t, v1File, v2File)
	port := freePort(t)
	t.Setenv("SPLIT_PORT", port)
	base := "http://127.0.0.1:" + port

	e.mustBerth("-f", v1File, "up", "-d", "--wait")
	note := examplePost(t, base, "written before the split")
	e.mustBerth("-f", v1File, "down")

	e.mustBerth("-f", v2File, "up", "-d", "--wait")
	waitForNote(t, base, note.ID, func(n exampleNote) bool { return n.Text == "written before the split" })
	if running := runningReplicas(t, e, v2File, "api"); running != 3 {
		t.Errorf("%d api replicas running, want 3", running)
	}
	if addrs := nslookupAddrs(t, e, v2File, "web", "api"); len(addrs) != 3 {
		t.Errorf("api resolves in web to %v, want 3 addresses", addrs)
	}
	if served := servedBy(t, base, 30); len(served) < 2 {
		t.Errorf("30 requests through web all went to %v; web should spread them over the replicas", served)
	}

	r := e.mustBerth("-f", v2File, "down", "-v")
	if !strings.Contains(r.stderr, "Volume monolith-split-data Removed") {
		t.Errorf("down -v of v2 did not remove the shared volume:\n%s", r.stderr)
	}
	testenv.AssertNoLeak(t, e.buildScope(), before)
}

func TestE2EExamplesIntegrationTests(t *testing.T) {
	file := examplesPath("integration-tests/compose.yaml")
	e, before := startExamples(t, file)

	t.Setenv("FAIL_ONE", "")
	r := e.berth("-f", file, "up", "--exit-code-from", "tests")
	if r.code != 0 || !strings.Contains(r.stdout, "# 8 passed, 0 failed") {
		t.Errorf("green run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	t.Setenv("FAIL_ONE", "1")
	r = e.berth("-f", file, "up", "--exit-code-from", "tests")
	if r.code != 1 || !strings.Contains(r.stdout, "not ok 9 - deliberately failing test") {
		t.Errorf("red run: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	e.mustBerth("-f", file, "down", "-v")
	testenv.AssertNoLeak(t, e.buildScope(), before)
}

// exampleNote is a note as the examples' API returns it.
type exampleNote struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Status string `json:"status"`
}

// exampleHTTP sends a request, retrying connection errors for a few seconds: a published
// port can take a moment after `up --wait` returns. It returns the response.
func exampleHTTP(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return resp, string(data)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func exampleGet(t *testing.T, url string) string {
	t.Helper()
	resp, body := exampleHTTP(t, http.MethodGet, url, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body
}

// examplePost creates a note through the page's /api/ proxy, as the page's script does.
func examplePost(t *testing.T, base, text string) exampleNote {
	t.Helper()
	resp, body := exampleHTTP(t, http.MethodPost, base+"/api/notes", fmt.Sprintf(`{"text": %q}`, text))
	var n exampleNote
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &n) != nil || n.ID == "" {
		t.Fatalf("POST /api/notes: %s: %s", resp.Status, body)
	}
	return n
}

// waitForNote polls the note until ok accepts it: the worker marks notes done on its own
// schedule.
func waitForNote(t *testing.T, base, id string, ok func(exampleNote) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := exampleHTTP(t, http.MethodGet, base+"/api/notes/"+id, "")
		var n exampleNote
		if resp.StatusCode == http.StatusOK && json.Unmarshal([]byte(body), &n) == nil && ok(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("note %s: %s: %s", id, resp.Status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// runningReplicas counts the service's running containers in `ps --format json`.
func runningReplicas(t *testing.T, e *e2e, file, service string) int {
	t.Helper()
	r := e.mustBerth("-f", file, "ps", "--format", "json")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row psRow
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("ps --format json line %q: %v", line, err)
		}
		if row.Service == service && row.State == "running" {
			n++
		}
	}
	return n
}

// nslookupAnswer matches an answer's address line; the server's own line ends in :53.
var nslookupAnswer = regexp.MustCompile(`(?m)^Address(?: \d+)?:\s+([0-9.]+)\s*$`)

// nslookupAddrs resolves name with busybox nslookup inside the service's container.
func nslookupAddrs(t *testing.T, e *e2e, file, service, name string) []string {
	t.Helper()
	r := e.mustBerth("-f", file, "exec", "-T", service, "nslookup", name)
	var out []string
	for _, m := range nslookupAnswer.FindAllStringSubmatch(r.stdout, -1) {
		out = append(out, m[1])
	}
	return out
}

// servedBy sends n requests through web and returns the distinct X-Served-By values.
func servedBy(t *testing.T, base string, n int) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for range n {
		resp, body := exampleHTTP(t, http.MethodGet, base+"/api/stats", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/stats: %s: %s", resp.Status, body)
		}
		seen[resp.Header.Get("X-Served-By")] = true
	}
	return seen
}
