package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

func TestE2EAttach(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", `
name: att
services:
  job:
    image: berth-test/busybox:1
    command: ["sh", "-c", "i=0; while [ ! -f /tmp/stop ]; do echo tick $$i; i=$$((i+1)); sleep 0.2; done; exit 4"]
`)
	e.mustBerth("up", "-d")
	out := &syncBuffer{}
	code := make(chan int)
	go func() {
		args := []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "attach", "job"}
		code <- run(context.Background(), args, out, os.Stderr)
	}()
	waitFor(t, "attach to stream the output", func() bool { return strings.Count(out.String(), "tick ") >= 2 })
	e.mustBerth("exec", "-T", "job", "touch", "/tmp/stop")
	if c := <-code; c != 4 {
		t.Errorf("attach exited %d, want the container's 4\n%s", c, out.String())
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
