package supervise

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/observed"
)

func TestHealthStateFollowsDocker(t *testing.T) {
	ok, fail := HealthProbe{ExitCode: 0}, HealthProbe{ExitCode: 1}
	tests := []struct {
		name    string
		probes  []HealthProbe
		inStart bool
		want    string
		streak  int
	}{
		{"one success is healthy", []HealthProbe{fail, ok}, false, HealthHealthy, 0},
		{"retries failures in a row are unhealthy", []HealthProbe{fail, fail, fail}, false, HealthUnhealthy, 3},
		{"fewer failures keep starting", []HealthProbe{fail, fail}, false, HealthStarting, 2},
		{"failures in the start period do not count", []HealthProbe{fail, fail, fail, fail}, true, HealthStarting, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &HealthState{Status: HealthStarting}
			for _, p := range tt.probes {
				h.record(p, tt.inStart, 3)
			}
			if h.Status != tt.want || h.FailingStreak != tt.streak {
				t.Errorf("status %s streak %d, want %s %d", h.Status, h.FailingStreak, tt.want, tt.streak)
			}
		})
	}
	h := &HealthState{}
	for range 8 {
		h.record(ok, false, 3)
	}
	if len(h.Log) != maxHealthLog {
		t.Errorf("log keeps %d probes, want %d", len(h.Log), maxHealthLog)
	}
}

// execer answers probes with the exit codes it is given, in turn.
type execer struct {
	mu    sync.Mutex
	codes []int
	args  [][]string
}

func (x *execer) Exec(_ context.Context, _ string, spec ctrd.ExecSpec) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.args = append(x.args, spec.Args)
	if len(x.codes) == 0 {
		return 0, nil
	}
	code := x.codes[0]
	x.codes = x.codes[1:]
	if code < 0 {
		return -1, errors.New("exec failed")
	}
	return code, nil
}

func files(t *testing.T, stopping bool) Files {
	root := t.TempDir()
	return Files{
		Dir:      func(name string) string { return filepath.Join(root, name) },
		Stopping: func(string) bool { return stopping },
	}
}

func fastCheck() HealthCheck {
	return HealthCheck{Test: []string{"CMD-SHELL", "test -f /ready"}, Interval: time.Millisecond, Timeout: time.Second,
		StartInterval: time.Millisecond, Retries: 2}
}

func TestWaitHealthyRecordsAndRunsThroughAShell(t *testing.T) {
	f := files(t, false)
	if err := os.MkdirAll(f.Dir("c"), 0o700); err != nil {
		t.Fatal(err)
	}
	x := &execer{codes: []int{1, 0}}
	if err := WaitHealthy(t.Context(), x, f, "c", fastCheck(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(x.args[0], " "); got != "/bin/sh -c test -f /ready" {
		t.Errorf("probe ran %q", got)
	}
	h := f.ReadHealth("c")
	if h == nil || h.Status != HealthHealthy || len(h.Log) != 2 {
		t.Fatalf("recorded %+v", h)
	}
	// healthy already: no probe
	if err := WaitHealthy(t.Context(), &execer{codes: []int{1}}, f, "c", fastCheck(), time.Now()); err != nil {
		t.Errorf("a healthy container waited again: %v", err)
	}
}

func TestWaitHealthyFailsWithTheLastOutput(t *testing.T) {
	f := files(t, false)
	_ = os.MkdirAll(f.Dir("c"), 0o700)
	err := WaitHealthy(t.Context(), &execer{codes: []int{1, -1}}, f, "c", fastCheck(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "unhealthy") || !strings.Contains(err.Error(), "exec failed") {
		t.Fatalf("err = %v", err)
	}
}

// A container being stopped or removed gets no health writes, and a removed one's
// missing directory is no error: the race of issue 18.
func TestNoHealthWritesWhileStoppingOrRemoved(t *testing.T) {
	stopping := files(t, true)
	_ = os.MkdirAll(stopping.Dir("c"), 0o700)
	if err := stopping.writeHealth("c", &HealthState{Status: HealthHealthy}); err != nil {
		t.Fatal(err)
	}
	if stopping.ReadHealth("c") != nil {
		t.Error("health written for a container being stopped")
	}
	gone := files(t, false)
	if err := gone.writeHealth("removed", &HealthState{}); err != nil {
		t.Errorf("write for a removed container: %v", err)
	}
	if _, err := os.Stat(gone.Dir("removed")); !os.IsNotExist(err) {
		t.Errorf("the write recreated the removed container's directory: %v", err)
	}
}

func TestResetForgetsRestartsAndHealth(t *testing.T) {
	f := files(t, false)
	_ = os.MkdirAll(f.Dir("c"), 0o700)
	_ = f.writeHealth("c", &HealthState{Status: HealthUnhealthy})
	_ = f.writeRestart("c", f.readRestart("c"))
	if err := f.Reset("c"); err != nil {
		t.Fatal(err)
	}
	if f.ReadHealth("c") != nil {
		t.Error("health kept after reset")
	}
	if err := f.Reset("c"); err != nil {
		t.Errorf("a second reset: %v", err)
	}
}

// host is a fake engine: one container whose state the test sets.
type host struct {
	execer
	mu       sync.Mutex
	c        observed.Container
	launched chan string
	lookups  int
}

func (h *host) Containers(context.Context) ([]observed.Container, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return []observed.Container{h.c}, nil
}

func (h *host) Container(_ context.Context, name string) (observed.Container, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lookups++
	return h.c, h.c.Name == name, nil
}

func (h *host) Lock(context.Context, string) (func(), error) { return func() {}, nil }

func (h *host) Launch(_ context.Context, name string) error {
	h.launched <- name
	return nil
}

func (h *host) Subscribe(context.Context) (<-chan ctrd.Event, <-chan error) { return nil, nil }

func exited(policy string, stopping bool) *host {
	c := observed.Container{Container: record.Container{Name: "p-web-1", Project: "p", Restart: policy}, State: observed.StateExited, Stopping: stopping}
	return &host{c: c, launched: make(chan string, 1)}
}

func TestOnExitAppliesThePolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		code     int
		stopping bool
		restart  bool
	}{
		{"always restarts", "always", 0, false, true},
		{"on-failure restarts a failure", "on-failure", 3, false, true},
		{"on-failure keeps a success down", "on-failure", 0, false, false},
		{"no keeps it down", "no", 1, false, false},
		{"a person's stop wins", "always", 137, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := exited(tt.policy, tt.stopping)
			f := files(t, false)
			_ = os.MkdirAll(f.Dir("p-web-1"), 0o700)
			s := &supervisor{h: h, f: f, probes: map[string]context.CancelFunc{}}
			s.onExit(t.Context(), "p-web-1", tt.code)
			select {
			case <-h.launched:
				if !tt.restart {
					t.Error("restarted")
				}
				if st := f.readRestart("p-web-1"); st.Count != 1 || st.LastStart.IsZero() {
					t.Errorf("restart record %+v", st)
				}
			default:
				if tt.restart {
					t.Error("not restarted")
				}
			}
		})
	}
}

// An exit after a stop that the state files already mark is left alone without
// asking the engine: down's every container dies so.
func TestOnExitOfMarkedStopNeedsNoLookup(t *testing.T) {
	h := exited("always", false)
	f := files(t, true)
	s := &supervisor{h: h, f: f, probes: map[string]context.CancelFunc{}}
	s.onExit(t.Context(), "p-web-1", 137)
	if h.lookups != 0 || len(h.launched) != 0 {
		t.Errorf("%d lookups, %d launches; want none", h.lookups, len(h.launched))
	}
}

// eventHost is the fake engine with an event stream the test feeds.
type eventHost struct {
	host
	events chan ctrd.Event
	lists  int
}

func (h *eventHost) Containers(ctx context.Context) ([]observed.Container, error) {
	h.mu.Lock()
	h.lists++
	h.mu.Unlock()
	return h.host.Containers(ctx)
}

func (h *eventHost) Subscribe(context.Context) (<-chan ctrd.Event, <-chan error) {
	return h.events, make(chan error)
}

func (h *eventHost) probes() int {
	h.execer.mu.Lock()
	defer h.execer.mu.Unlock()
	return len(h.execer.args)
}

// Events start and stop the health monitors: a started container is probed
// at once, one that exited no more, and the container list is not read
// again for it.
func TestRunFollowsEvents(t *testing.T) {
	hc := fastCheck()
	c := observed.Container{Container: record.Container{Name: "p-web-1", Project: "p", Health: &hc}, ID: "p-web-1", State: observed.StateExited}
	h := &eventHost{host: host{c: c, launched: make(chan string, 1)}, events: make(chan ctrd.Event)}
	f := files(t, false)
	_ = os.MkdirAll(f.Dir("p-web-1"), 0o700)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, h, f) }()
	waitFor(t, "the first list", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.lists == 1 })

	h.mu.Lock()
	h.c.State = observed.StateRunning
	h.mu.Unlock()
	h.events <- ctrd.Event{Action: "start", ContainerID: "p-web-1"}
	waitFor(t, "a probe after the start event", func() bool { return h.probes() > 0 })

	h.mu.Lock()
	h.c.State = observed.StateExited
	h.mu.Unlock()
	h.events <- ctrd.Event{Action: "die", ContainerID: "p-web-1", Attributes: map[string]string{"exitCode": "0"}}
	// the event loop handled die once it takes the next event
	h.events <- ctrd.Event{Action: "pause", ContainerID: "other"}
	time.Sleep(20 * time.Millisecond) // a probe under way when die came may still finish
	after := h.probes()
	time.Sleep(50 * time.Millisecond)
	if n := h.probes(); n != after {
		t.Errorf("%d probes after the die event", n-after)
	}
	h.mu.Lock()
	lists := h.lists
	h.mu.Unlock()
	if lists != 1 {
		t.Errorf("the container list was read %d times, want once at the start", lists)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
