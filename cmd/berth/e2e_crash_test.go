package main

import (
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

const crashStack = `
name: crash
services:
  a:
    image: berth-test/busybox:1
    command: ` + idle + `
    ports: ["127.0.0.1::80"]
    volumes: [data:/data, /anon]
  b:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on: [a]
    networks: [default, back]
  c:
    image: berth-test/busybox:1
    command: ` + idle + `
    networks: [back]
    deploy:
      replicas: 2
networks:
  back: {}
volumes:
  data: {}
`

// TestE2EKilledUpConverges kills berth at random points of up and of down;
// the next up must converge to one running container per replica, and
// down -v must leave the host as it was.
func TestE2EKilledUpConverges(t *testing.T) {
	e, before := startE2E(t)
	// a name of its own: CNI's loopback cache is keyed by container name
	// across namespaces, so a leftover of an earlier failed run must not
	// look like this run's
	suffix := randomHex(3)
	e.writeFile("compose.yaml", strings.ReplaceAll(crashStack, "crash", "crash"+suffix))
	e.binary()
	for round := range 6 {
		verb := []string{"up", "-d"}
		if round%2 == 1 {
			verb = []string{"down", "-v"}
		}
		delay := time.Duration(20+rand.IntN(400)) * time.Millisecond
		cmd := e.command(verb...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("round %d: killed %s after %s", round, strings.Join(verb, " "), delay)

		e.mustBerth("up", "-d")
		cs := e.containers()
		want := []string{"crash" + suffix + "-a-1", "crash" + suffix + "-b-1", "crash" + suffix + "-c-1", "crash" + suffix + "-c-2"}
		if len(cs) != len(want) {
			t.Fatalf("round %d: containers after up: %v", round, cs)
		}
		for _, id := range want {
			if cs[id] != "running" {
				t.Errorf("round %d: %s is %q after up\n%s", round, id, cs[id], e.berth("ps", "-a").stdout)
			}
		}
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
