package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

const logStack = `
name: chatty
services:
  talker:
    image: berth-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo line $$i; echo oops $$i >&2; i=$$((i+1)); sleep 0.1; done"]
    logging:
      options:
        max-size: 2k
        max-file: "2"
  quiet:
    image: berth-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello from quiet; while true; do sleep 0.2; done"]
`

// syncBuffer is a writer the follower and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestE2ELogs(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", logStack)
	e.mustBerth("up", "-d")
	// no berth process runs while the containers print
	time.Sleep(3 * time.Second)

	r := e.mustBerth("logs", "--no-color", "quiet")
	if !strings.Contains(r.stdout, "quiet-1  | hello from quiet") {
		t.Errorf("logs quiet:\n%s", r.stdout)
	}
	r = e.mustBerth("logs", "--no-log-prefix", "--tail", "5", "talker")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 2 || !inOrder(lines) {
		t.Errorf("logs --tail 5 talker is not a run of lines in order:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "oops") {
		t.Errorf("stderr lines are not on stderr:\n%s", r.stderr)
	}
	if r := e.mustBerth("logs", "-t", "--tail", "1", "quiet"); !strings.Contains(r.stdout, "Z hello from quiet") {
		t.Errorf("logs -t has no timestamp:\n%s", r.stdout)
	}

	// rotation keeps at most max-file files
	logs, _ := filepath.Glob(filepath.Join(e.dataRoot, e.namespace, "containers", "chatty-talker-1", "container.log*"))
	if len(logs) == 0 || len(logs) > 2 {
		t.Errorf("talker's log files: %v, want 1 or 2 (max-file 2)", logs)
	}

	// -f follows new lines
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		args := []string{"berth", "--namespace", e.namespace, "--data-root", e.dataRoot, "--address", testenv.ContainerdAddress(), "logs", "-f", "--tail", "0", "talker"}
		done <- runWithContext(ctx, args, out)
	}()
	waitFor(t, "logs -f to show new lines", func() bool { return strings.Count(out.String(), "line ") >= 3 })
	cancel()
	<-done

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// inOrder checks "line N" lines count up by one.
func inOrder(lines []string) bool {
	prev := -1
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil {
			return false
		}
		if prev >= 0 && n != prev+1 {
			return false
		}
		prev = n
	}
	return true
}

func runWithContext(ctx context.Context, args []string, out *syncBuffer) int {
	return run(ctx, args, out, os.Stderr)
}
