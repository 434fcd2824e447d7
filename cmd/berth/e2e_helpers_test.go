package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/testenv"
	"github.com/berth-dev/berth/network"
)

// e2e is one end-to-end test's world: its own containerd namespace, data
// root and project directory, all removed when the test ends.
type e2e struct {
	t         *testing.T
	namespace string
	dataRoot  string
	dir       string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	testenv.RequireRoot(t)
	testenv.RequireContainerd(t, "")
	testenv.SerializeHost(t)
	e := &e2e{t: t, namespace: "berth-e2e-" + randomHex(4), dataRoot: t.TempDir(), dir: t.TempDir()}
	// in-process runs start the helper and the logger from real binaries
	t.Setenv("BERTH_EXE", e.binary())
	t.Setenv("BERTH_LOGGER", filepath.Join(filepath.Dir(e.binary()), "berth-logger"))
	t.Setenv("BERTH_HELPER", filepath.Join(filepath.Dir(e.binary()), "berth-helper"))
	t.Cleanup(e.cleanup)
	return e
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// client connects to containerd in the test's namespace.
func (e *e2e) client() *ctrd.Client {
	e.t.Helper()
	c, err := ctrd.Connect(context.Background(), ctrd.Options{Address: testenv.ContainerdAddress(), Namespace: e.namespace})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *e2e) cleanup() {
	e.downAll()
	// a test that built left berth's buildkitd running, and its history namespace
	var out bytes.Buffer
	if code := run(context.Background(), []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "builder", "stop"}, &out, &out); code != 0 {
		e.t.Errorf("cleanup: builder stop: %s", out.String())
	}
	for _, ns := range []string{e.namespace, e.namespace + "_history"} {
		c, err := ctrd.Connect(context.Background(), ctrd.Options{Address: testenv.ContainerdAddress(), Namespace: ns})
		if err != nil {
			e.t.Errorf("cleanup: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.DeleteNamespace(ctx); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
		cancel()
		c.Close()
	}
}

// writeFile writes a file of the project directory.
func (e *e2e) writeFile(name, content string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

type result struct {
	stdout, stderr string
	code           int
}

// berth runs the CLI in-process from the project directory with the
// test's namespace and data root.
func (e *e2e) berth(args ...string) result {
	e.t.Helper()
	e.t.Chdir(e.dir)
	var stdout, stderr bytes.Buffer
	full := append([]string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "--progress", "plain"}, args...)
	code := run(context.Background(), full, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// mustBerth runs berth and fails the test unless it exits 0.
func (e *e2e) mustBerth(args ...string) result {
	e.t.Helper()
	r := e.berth(args...)
	if r.code != 0 {
		e.t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// loadImage puts an image built by testenv into the test's namespace.
func (e *e2e) loadImage(img v1.Image, ref string) {
	e.t.Helper()
	r := e.mustBerth("image", "load", "-q", "-i", testenv.WriteOCIArchive(e.t, img, ref))
	_ = r
}

// tasks returns the PID of each running container of the namespace.
func (e *e2e) tasks() map[string]uint32 {
	e.t.Helper()
	c := e.client()
	defer c.Close()
	infos, err := c.ListContainers(context.Background(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, i := range infos {
		if i.Status == ctrd.TaskRunning {
			out[i.ID] = i.PID
		}
	}
	return out
}

// containers returns every container of the namespace with its status.
func (e *e2e) containers() map[string]string {
	e.t.Helper()
	c := e.client()
	defer c.Close()
	infos, err := c.ListContainers(context.Background(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range infos {
		out[i.ID] = i.Status
	}
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// pkgDir is the package's directory, read before any test changes the
// working directory.
var pkgDir, _ = os.Getwd()

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// binary builds berth once per test run as make build does (berth-logger,
// berth-helper and berth-kube beside it), for tests that must signal or kill a real berth process.
func (e *e2e) binary() string {
	e.t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "berth")
		for _, b := range [][]string{
			{"-tags", "kubeplugin,urfave_cli_no_docs", "-o", binaryPath, "."},
			{"-o", filepath.Join(dir, "berth-kube"), "."},
			{"-o", filepath.Join(dir, "berth-logger"), "../berth-logger"},
			{"-o", filepath.Join(dir, "berth-helper"), "../berth-helper"},
		} {
			build := exec.Command("go", append([]string{"build"}, b...)...)
			build.Dir = pkgDir
			if out, err := build.CombinedOutput(); err != nil {
				binaryErr = fmt.Errorf("go build %s: %v: %s", strings.Join(b, " "), err, out)
				return
			}
		}
	})
	if binaryErr != nil {
		e.t.Fatal(binaryErr)
	}
	return binaryPath
}

// command returns an exec.Cmd of the real binary with the test's globals.
func (e *e2e) command(args ...string) *exec.Cmd {
	full := append([]string{"--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "--progress", "plain"}, args...)
	cmd := exec.Command(e.binary(), full...)
	cmd.Dir = e.dir
	return cmd
}

// downAll takes down every project left in the namespace, so a failed test
// does not leave networks, rules or CNI state for the next one.
func (e *e2e) downAll() {
	c, err := ctrd.Connect(context.Background(), ctrd.Options{Address: testenv.ContainerdAddress(), Namespace: e.namespace})
	if err != nil {
		return
	}
	infos, err := c.ListContainers(context.Background(), nil)
	c.Close()
	if err != nil {
		return
	}
	projects := map[string]bool{}
	for _, i := range infos {
		projects[i.Labels["com.docker.compose.project"]] = true
	}
	// a project can own networks and no container (run --rm, a failed up)
	if nets, err := network.NewManager(network.Config{DataRoot: filepath.Join(e.dataRoot, e.namespace)}); err == nil {
		list, _ := nets.List()
		for _, n := range list {
			projects[n.Labels["com.docker.compose.project"]] = true
		}
	}
	for p := range projects {
		if p == "" {
			continue
		}
		var out bytes.Buffer
		args := []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "--progress", "quiet", "-p", p, "down", "-v", "-t", "0"}
		if code := run(context.Background(), args, &out, &out); code != 0 {
			e.t.Logf("cleanup: down of %s: %s", p, out.String())
		}
	}
}
