package plan

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// recorder is a Runner that logs start and end of each op, and can fail or
// block chosen ops.
type recorder struct {
	mu     sync.Mutex
	events []string
	fail   map[string]bool
	gate   map[string]chan struct{}
}

func (r *recorder) Run(ctx context.Context, op *Op) error {
	r.log("start " + op.Name)
	if ch, ok := r.gate[op.Name]; ok {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.log("end " + op.Name)
	if r.fail[op.Name] {
		return errors.New(op.Name + " failed")
	}
	return nil
}

func (r *recorder) log(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) index(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.events {
		if e == s {
			return i
		}
	}
	return -1
}

func chain() *Plan {
	p := &Plan{}
	p.add(&Op{Name: "a"})
	p.add(&Op{Name: "b"})
	p.add(&Op{Name: "c", Deps: []int{1, 2}})
	p.add(&Op{Name: "d", Deps: []int{3}})
	return p
}

func TestExecuteOrderAndOverlap(t *testing.T) {
	r := &recorder{gate: map[string]chan struct{}{"a": make(chan struct{})}}
	done := make(chan error)
	go func() { done <- Execute(t.Context(), chain(), r, 4, nil) }()
	// b runs while a is blocked: independent ops overlap
	deadline := time.Now().Add(5 * time.Second)
	for r.index("end b") < 0 {
		if time.Now().After(deadline) {
			t.Fatal("b never ran while a was blocked")
		}
		time.Sleep(time.Millisecond)
	}
	if r.index("start c") >= 0 {
		t.Fatal("c started before a finished")
	}
	close(r.gate["a"])
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !(r.index("end a") < r.index("start c") && r.index("end c") < r.index("start d")) {
		t.Fatalf("order: %v", r.events)
	}
}

func TestExecuteStopsAfterFailure(t *testing.T) {
	r := &recorder{fail: map[string]bool{"a": true}}
	err := Execute(t.Context(), chain(), r, 1, nil)
	if err == nil || err.Error() != "a failed" {
		t.Fatalf("err = %v", err)
	}
	if r.index("start c") >= 0 || r.index("start d") >= 0 {
		t.Fatalf("dependents ran after a failure: %v", r.events)
	}
}

func TestExecuteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r := &recorder{gate: map[string]chan struct{}{"a": make(chan struct{})}}
	done := make(chan error)
	go func() { done <- Execute(ctx, chain(), r, 4, nil) }()
	for r.index("start a") < 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
