package service

import (
	"errors"
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
