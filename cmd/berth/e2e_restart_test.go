package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

const restartStack = `
name: pol
services:
  crashy:
    image: berth-test/busybox:1
    command: ["sh", "-c", "date +%s%N >> /count/always; sleep 0.3; exit 1"]
    restart: always
    volumes: [./count:/count]
  twice:
    image: berth-test/busybox:1
    command: ["sh", "-c", "date +%s%N >> /count/twice; exit 2"]
    restart: on-failure:2
    volumes: [./count:/count]
  fine:
    image: berth-test/busybox:1
    command: ["sh", "-c", "date +%s%N >> /count/fine; exit 0"]
    restart: on-failure
    volumes: [./count:/count]
`

// starts counts the lines a service appended: one per start of its process.
func starts(t *testing.T, e *e2e, file string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "count", file))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestE2ERestartPolicies(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", restartStack)
	e.mustBerth("up", "-d")
	// no berth command runs from here on: the helper restarts
	waitFor(t, "always to restart three times", func() bool { return starts(t, e, "always") >= 3 })
	waitFor(t, "on-failure:2 to run three times", func() bool { return starts(t, e, "twice") >= 3 })
	time.Sleep(2 * time.Second)
	if n := starts(t, e, "twice"); n != 3 {
		t.Errorf("on-failure:2 ran %d times, want 3 (the first run and two restarts)", n)
	}
	if n := starts(t, e, "fine"); n != 1 {
		t.Errorf("on-failure restarted a container that exited 0: %d runs", n)
	}

	e.mustBerth("stop", "crashy")
	n := starts(t, e, "always")
	time.Sleep(3 * time.Second)
	if m := starts(t, e, "always"); m != n {
		t.Errorf("a stopped always container was restarted: %d -> %d runs", n, m)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

const healthStack = `
name: hk
services:
  web:
    image: berth-test/busybox:1
    command: ` + idle + `
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
`

// The helper runs the health checks of containers started after it (it learns of
// them from containerd's start events, not from a list it reads now and then),
// and again after a restart.
func TestE2EHelperRunsHealthChecks(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", healthStack)
	healthFile := filepath.Join(e.dataRoot, e.namespace, "containers", "hk-web-1", "health.json")
	probedSince := func(since time.Time) bool {
		var h struct{ Log []struct{ Start time.Time } }
		b, err := os.ReadFile(healthFile)
		if err != nil || json.Unmarshal(b, &h) != nil {
			return false
		}
		return len(h.Log) > 0 && h.Log[len(h.Log)-1].Start.After(since)
	}
	for _, verb := range [][]string{{"up", "-d"}, {"restart", "web"}} {
		since := time.Now()
		e.mustBerth(verb...)
		deadline := time.Now().Add(5 * time.Second)
		for !probedSince(since) {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(healthFile)
				t.Fatalf("no probe within 5 s of %s: %s", strings.Join(verb, " "), b)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s: probed %s after", strings.Join(verb, " "), time.Since(since))
	}
	if r := e.mustBerth("ps", "--format", "json"); !strings.Contains(r.stdout, `"Health":"healthy"`) {
		t.Errorf("ps after the probes:\n%s", r.stdout)
	}
	e.mustBerth("down", "-t", "0")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
