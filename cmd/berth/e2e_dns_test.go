package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/testenv"
)

const dnsStack = `
name: names
services:
  client:
    image: berth-test/busybox:1
    command: ` + idle + `
    networks:
      front:
        aliases: [front-door]
  web:
    image: berth-test/busybox:1
    command: ` + idle + `
    networks:
      front:
        aliases: [www]
  secret:
    image: berth-test/busybox:1
    command: ` + idle + `
    networks: [back]
networks:
  front: {}
  back: {}
`

var addrLine = regexp.MustCompile(`Address(?: \d+)?:\s+([0-9.]+)\s*$`)

// resolve runs nslookup in svc and returns the sorted addresses of name
// (the server's own address line excluded), or nil when it does not resolve.
func (e *e2e) resolve(svc, name string) []string {
	r := e.berth("exec", "-T", svc, "nslookup", name)
	if r.code != 0 {
		return nil
	}
	var out []string
	answers := strings.SplitN(r.stdout, "Name:", 2)
	if len(answers) < 2 {
		return nil
	}
	for _, l := range strings.Split(answers[1], "\n") {
		if m := addrLine.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func TestE2EServiceDiscovery(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", dnsStack)
	e.mustBerth("up", "-d")

	if argv := e.helperArgv(); len(argv) == 0 || filepath.Base(argv[0]) != "berth-helper" {
		t.Errorf("the helper runs as %q, want berth-helper", argv)
	}
	webAddr := e.addrOf("web", "eth0")
	for _, name := range []string{"web", "www", "names-web-1"} {
		if got := e.resolve("client", name); !slices.Equal(got, []string{webAddr}) {
			t.Errorf("client resolves %s to %v, want [%s]", name, got, webAddr)
		}
	}
	if got := e.resolve("client", "secret"); got != nil {
		t.Errorf("client resolves secret (another network) to %v", got)
	}
	if got := e.resolve("web", "front-door"); len(got) != 1 {
		t.Errorf("web does not resolve client's alias: %v", got)
	}

	e.mustBerth("scale", "web=3")
	if got := e.resolve("client", "web"); len(got) != 3 {
		t.Errorf("after scale to 3, web resolves to %v", got)
	}
	e.mustBerth("scale", "web=1")
	if got := e.resolve("client", "web"); len(got) != 1 {
		t.Errorf("after scale to 1, web resolves to %v", got)
	}
	e.mustBerth("up", "-d", "--force-recreate", "web")
	newAddr := e.addrOf("web", "eth0")
	if got := e.resolve("client", "web"); !slices.Equal(got, []string{newAddr}) {
		t.Errorf("after recreate, web resolves to %v, want [%s]", got, newAddr)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// helperArgv is the command line of the test's helper process, nil when none runs.
func (e *e2e) helperArgv() []string {
	e.t.Helper()
	pid, running := daemon.Status(filepath.Join(e.dataRoot, e.namespace))
	if !running {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		e.t.Fatalf("helper %d: %v", pid, err)
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// Where berth-helper is not installed, berth runs its own hidden __helper, which
// serves the same names.
func TestE2EHelperFallback(t *testing.T) {
	e, before := startE2E(t)
	t.Setenv("BERTH_HELPER", "") // and none beside the test binary or in the library directories
	e.writeFile("compose.yaml", dnsStack)
	e.mustBerth("up", "-d")
	if argv := e.helperArgv(); len(argv) == 0 || argv[len(argv)-1] != "__helper" {
		t.Fatalf("the helper runs as %q, want berth's __helper", argv)
	}
	webAddr := e.addrOf("web", "eth0")
	if got := e.resolve("client", "web"); !slices.Equal(got, []string{webAddr}) {
		t.Errorf("client resolves web to %v, want [%s]", got, webAddr)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
