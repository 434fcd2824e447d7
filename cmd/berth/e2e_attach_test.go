package main

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

const suiteStack = `
name: suite
services:
  db:
    image: berth-test/busybox:1
    command: ` + idle + `
  tests:
    image: berth-test/busybox:1
    command: ["sh", "-c", "echo running tests; nslookup db >/dev/null && echo db resolves; exit ${EXIT_CODE:-0}"]
    depends_on: [db]
`

func TestE2EUpExitCodeFrom(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", suiteStack)
	for _, code := range []string{"0", "3"} {
		t.Setenv("EXIT_CODE", code)
		r := e.berth("up", "--exit-code-from", "tests")
		if want := map[string]int{"0": 0, "3": 3}[code]; r.code != want {
			t.Errorf("up --exit-code-from tests with exit %s: berth exited %d\n%s\n%s", code, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "tests-1  | running tests") || !strings.Contains(r.stdout, "tests-1  | db resolves") {
			t.Errorf("attached output lacks the tests' lines:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "tests-1 exited with code "+code) {
			t.Errorf("no exit line:\n%s", r.stdout)
		}
		// the stack is stopped, not removed
		if st := e.containers()["suite-db-1"]; st == "running" {
			t.Errorf("db still runs after the abort")
		}
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func TestE2ERunRm(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", suiteStack)
	r := e.berth("run", "--rm", "-T", "tests", "sh", "-c", "echo one-off; exit 5")
	if r.code != 5 || !strings.Contains(r.stdout, "one-off") {
		t.Errorf("run --rm: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for id := range e.containers() {
		if strings.Contains(id, "-run-") {
			t.Errorf("run --rm left %s", id)
		}
	}
	if st := e.containers()["suite-db-1"]; st != "running" {
		t.Errorf("run did not start the dependency: db is %q", st)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
