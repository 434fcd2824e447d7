package service

import (
	"errors"
	"os"
	"testing"
	"time"
)

// A start waits for every helper start begun before it, and fails with the first
// failure among them.
func TestHelperGate(t *testing.T) {
	var g helperGate
	if err := g.wait(); err != nil {
		t.Fatalf("nothing begun: %v", err)
	}
	release := make(chan struct{})
	g.begin(func() error { <-release; return nil })
	boom := errors.New("boom")
	g.begin(func() error { return boom })
	done := make(chan error)
	go func() { done <- g.wait() }()
	select {
	case err := <-done:
		t.Fatalf("wait returned %v before the first helper start finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("wait = %v, want %v", err, boom)
	}
}

// updateState writes only what changes: a fresh container's start does not write
// the "not stopping" it already is.
func TestUpdateStateWritesChanges(t *testing.T) {
	e := &Engine{DataRoot: t.TempDir()}
	if err := e.updateState("c1", func(st *runState) { st.Stopping = false }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.stateFile("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unchanged state written: %v", err)
	}
	now := time.Now().UTC()
	if err := e.updateState("c1", func(st *runState) { st.StartedAt = now }); err != nil {
		t.Fatal(err)
	}
	if got := e.readState("c1"); !got.StartedAt.Equal(now) || got.Stopping {
		t.Fatalf("state %+v, want started at %v", got, now)
	}
}
