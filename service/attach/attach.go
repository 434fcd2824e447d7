// Package attach is what an attached `up` does once the stack runs: it picks the
// services whose output is attached, watches their containers' exits, decides when
// one of them ends the stack and which exit code berth returns, and stops the stack
// (a second interrupt kills it). It prints nothing: the CLI renders its events.
package attach

import (
	"context"
	"slices"
	"time"

	"github.com/berth-dev/berth/service/plan"
)

// Options are the flags of an attached up that decide how it ends.
type Options struct {
	// Services are the attached services.
	Services       []string
	AbortOnExit    bool // --abort-on-container-exit (implied by --exit-code-from)
	AbortOnFailure bool // --abort-on-container-failure
	ExitCodeFrom   string
	// Timeout overrides the stop grace periods when the stack is stopped.
	Timeout *time.Duration
}

// Select picks the attached services as Docker Compose does: the --attach list,
// else the services named on the command line (unless their dependencies are
// attached too), else every service; minus --no-attach.
func Select(all, attach, named []string, withDependencies bool, noAttach []string) []string {
	var out []string
	switch {
	case len(attach) > 0:
		out = slices.Clone(attach)
	case len(named) > 0 && !withDependencies:
		out = slices.Clone(named)
	default:
		out = slices.Clone(all)
	}
	return slices.DeleteFunc(out, func(s string) bool { return slices.Contains(noAttach, s) })
}

// Outcome folds the attached containers' exits into how the session ends.
type Outcome struct {
	opts    Options
	running int
	code    int
}

// NewOutcome starts with the number of attached containers.
func NewOutcome(opts Options, attached int) *Outcome {
	return &Outcome{opts: opts, running: attached}
}

// Exit records one container's exit and says whether it aborts the stack.
func (o *Outcome) Exit(service string, code int) (abort bool) {
	o.running--
	if service == o.opts.ExitCodeFrom {
		o.code = code
	}
	if o.opts.AbortOnExit || (o.opts.AbortOnFailure && code != 0) {
		if o.opts.ExitCodeFrom == "" {
			o.code = code
		}
		return true
	}
	return false
}

// Done says whether every attached container has exited.
func (o *Outcome) Done() bool { return o.running <= 0 }

// Code is the exit code berth returns: --exit-code-from's container's, else the
// aborting container's, else 0.
func (o *Outcome) Code() int { return o.code }

// Engine is what a session needs of the engine.
type Engine interface {
	Wait(ctx context.Context, projectName string, services []string, exited func(plan.Container, int)) error
	Stop(ctx context.Context, projectName string, timeout *time.Duration) error
	Kill(ctx context.Context, projectName string) error
}

// Event is what the CLI shows of a session.
type Event struct {
	Kind      EventKind
	Container plan.Container
	ExitCode  int
}

// EventKind is what happened.
type EventKind int

// The events of a session.
const (
	Exited   EventKind = iota + 1 // an attached container exited
	Aborting                      // an exit stops the stack
	Stopping                      // an interrupt stops the stack
	Killing                       // a second interrupt kills it
)

// Session is one attached up after its containers started.
type Session struct {
	Engine  Engine
	Project string
	Opts    Options
	// Attached are the attached containers.
	Attached []plan.Container
	// Interrupts delivers Ctrl-C (and SIGTERM).
	Interrupts <-chan struct{}
	// Event receives what the CLI shows, in order.
	Event func(Event)
}

// Run waits until every attached container has exited, or an exit aborts the
// stack, or an interrupt stops it; it returns the exit code berth ends with.
func (s *Session) Run(ctx context.Context) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type exit struct {
		c    plan.Container
		code int
	}
	exits := make(chan exit, len(s.Attached))
	waitErr := make(chan error, 1)
	go func() {
		waitErr <- s.Engine.Wait(ctx, s.Project, s.Opts.Services, func(c plan.Container, code int) { exits <- exit{c, code} })
	}()
	o := NewOutcome(s.Opts, len(s.Attached))
	for !o.Done() {
		select {
		case e := <-exits:
			s.Event(Event{Kind: Exited, Container: e.c, ExitCode: e.code})
			if o.Exit(e.c.Service, e.code) {
				s.Event(Event{Kind: Aborting, Container: e.c, ExitCode: e.code})
				return o.Code(), s.Stop(ctx)
			}
		case err := <-waitErr:
			if err != nil {
				return 1, err
			}
			waitErr = nil
		case <-s.Interrupts:
			s.Event(Event{Kind: Stopping})
			return 130, s.Stop(ctx)
		}
	}
	return o.Code(), nil
}

// Stop stops the stack; an interrupt meanwhile (the next one: the one that started
// the stop was consumed) kills it instead.
func (s *Session) Stop(ctx context.Context) error {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Engine.Stop(sctx, s.Project, s.Opts.Timeout) }()
	select {
	case err := <-done:
		return err
	case <-s.Interrupts:
		s.Event(Event{Kind: Killing})
		cancel()
		<-done
		return s.Engine.Kill(context.WithoutCancel(ctx), s.Project)
	}
}
