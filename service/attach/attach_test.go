package attach

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/plan"
)

func TestSelect(t *testing.T) {
	all := []string{"api", "db", "web"}
	tests := []struct {
		name     string
		attach   []string
		named    []string
		withDeps bool
		noAttach []string
		want     []string
	}{
		{"every service by default", nil, nil, false, nil, all},
		{"--attach wins", []string{"db"}, []string{"web"}, false, nil, []string{"db"}},
		{"named services", nil, []string{"web"}, false, nil, []string{"web"}},
		{"named with --attach-dependencies attaches all", nil, []string{"web"}, true, nil, all},
		{"--no-attach removes", nil, nil, false, []string{"db"}, []string{"api", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Select(all, tt.attach, tt.named, tt.withDeps, tt.noAttach); !slices.Equal(got, tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	type exit struct {
		service string
		code    int
	}
	tests := []struct {
		name      string
		opts      Options
		exits     []exit
		wantAbort int // index of the exit that aborts, -1 for none
		wantCode  int
	}{
		{"all exit, code 0", Options{}, []exit{{"a", 3}, {"b", 0}}, -1, 0},
		{"abort on exit takes its code", Options{AbortOnExit: true}, []exit{{"a", 3}}, 0, 3},
		{"abort on failure ignores successes", Options{AbortOnFailure: true}, []exit{{"a", 0}, {"b", 2}}, 1, 2},
		{"exit-code-from keeps its service's code", Options{AbortOnExit: true, ExitCodeFrom: "tests"},
			[]exit{{"tests", 5}}, 0, 5},
		{"exit-code-from: another service aborting keeps the code seen so far", Options{AbortOnExit: true, ExitCodeFrom: "tests"},
			[]exit{{"db", 9}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOutcome(tt.opts, len(tt.exits))
			aborted := -1
			for i, e := range tt.exits {
				if o.Exit(e.service, e.code) {
					aborted = i
					break
				}
			}
			if aborted != tt.wantAbort || o.Code() != tt.wantCode {
				t.Errorf("aborted at %d with code %d, want %d and %d", aborted, o.Code(), tt.wantAbort, tt.wantCode)
			}
			if tt.wantAbort < 0 && !o.Done() {
				t.Error("every container exited but the outcome is not done")
			}
		})
	}
}

// engine is a fake engine: exits are sent by the test, stops can block.
type engine struct {
	mu         sync.Mutex
	calls      []string
	exits      chan plan.Container
	stopBlocks bool
}

func (e *engine) record(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, s)
}

func (e *engine) Wait(ctx context.Context, _ string, _ []string, exited func(plan.Container, int)) error {
	for {
		select {
		case c := <-e.exits:
			exited(c, c.ExitCode)
		case <-ctx.Done():
			return nil
		}
	}
}

func (e *engine) Stop(ctx context.Context, _ string, _ *time.Duration) error {
	e.record("stop")
	if e.stopBlocks {
		<-ctx.Done()
	}
	return nil
}

func (e *engine) Kill(context.Context, string) error {
	e.record("kill")
	return nil
}

func container(service string, code int) plan.Container {
	return plan.Container{Container: record.Container{Service: service, Name: "p-" + service + "-1", Number: 1}, ExitCode: code}
}

func session(eng *engine, opts Options, n int, interrupts chan struct{}) (*Session, *[]EventKind) {
	var events []EventKind
	var mu sync.Mutex
	attached := make([]plan.Container, n)
	return &Session{Engine: eng, Project: "p", Opts: opts, Attached: attached, Interrupts: interrupts,
		Event: func(ev Event) {
			mu.Lock()
			events = append(events, ev.Kind)
			mu.Unlock()
		}}, &events
}

func TestSessionAbortsOnExitAndStops(t *testing.T) {
	eng := &engine{exits: make(chan plan.Container, 2)}
	s, events := session(eng, Options{AbortOnExit: true, ExitCodeFrom: "tests"}, 2, make(chan struct{}))
	eng.exits <- container("tests", 4)
	code, err := s.Run(t.Context())
	if err != nil || code != 4 {
		t.Fatalf("Run = %d, %v; want 4", code, err)
	}
	if got := strings.Join(eng.calls, ","); got != "stop" {
		t.Errorf("engine calls %s, want stop", got)
	}
	if !slices.Equal(*events, []EventKind{Exited, Aborting}) {
		t.Errorf("events %v", *events)
	}
}

func TestSessionEndsWhenAllExited(t *testing.T) {
	eng := &engine{exits: make(chan plan.Container, 2)}
	s, _ := session(eng, Options{}, 2, make(chan struct{}))
	eng.exits <- container("a", 1)
	eng.exits <- container("b", 0)
	code, err := s.Run(t.Context())
	if err != nil || code != 0 || len(eng.calls) != 0 {
		t.Fatalf("Run = %d, %v, calls %v; want 0 and no stop", code, err, eng.calls)
	}
}

// The first interrupt stops the stack gracefully; only a second one kills it (the
// old attached up counted the first Ctrl-C twice and killed at once).
func TestSessionInterruptStopsThenKills(t *testing.T) {
	interrupts := make(chan struct{}, 2)
	eng := &engine{exits: make(chan plan.Container), stopBlocks: true}
	s, events := session(eng, Options{}, 1, interrupts)
	interrupts <- struct{}{}
	done := make(chan int)
	go func() {
		code, _ := s.Run(t.Context())
		done <- code
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		eng.mu.Lock()
		stopping := len(eng.calls) > 0
		eng.mu.Unlock()
		if stopping || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the first interrupt ended the session before the stop finished: it was counted as the second")
	case <-time.After(50 * time.Millisecond):
	}
	interrupts <- struct{}{}
	if code := <-done; code != 130 {
		t.Errorf("code %d, want 130", code)
	}
	if got := strings.Join(eng.calls, ","); got != "stop,kill" {
		t.Errorf("engine calls %s, want stop,kill", got)
	}
	if !slices.Equal(*events, []EventKind{Stopping, Killing}) {
		t.Errorf("events %v", *events)
	}
}
