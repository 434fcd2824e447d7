package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/progress"
)

// Runner performs single operations; the executor decides nothing but when
// each may run.
type Runner interface {
	Run(ctx context.Context, op *Op) error
}

// Execute runs the plan's operations as soon as their dependencies have
// succeeded, at most parallel at a time. After the first failure it starts
// nothing new, lets running operations finish, and returns the failures.
func Execute(ctx context.Context, plan *Plan, r Runner, parallel int, sink progress.Sink) error {
	e := &executor{plan: plan, runner: r, sink: progress.Or(sink),
		done: map[int]bool{}, queued: map[int]bool{}}
	return e.run(ctx, max(parallel, 1))
}

type executor struct {
	plan   *Plan
	runner Runner
	sink   progress.Sink
	done   map[int]bool
	queued map[int]bool
}

type opResult struct {
	op  *Op
	err error
}

// run owns all the executor's state: operations report back on a channel,
// so no lock is needed.
func (e *executor) run(ctx context.Context, parallel int) error {
	results := make(chan opResult)
	var queue []*Op
	var errs []error
	inflight := 0
	for {
		if len(errs) == 0 && ctx.Err() == nil {
			queue = append(queue, e.ready()...)
			for len(queue) > 0 && inflight < parallel {
				go e.exec(ctx, queue[0], results)
				queue, inflight = queue[1:], inflight+1
			}
		}
		if inflight == 0 {
			break
		}
		r := <-results
		inflight--
		if r.err != nil {
			errs = append(errs, r.err)
		} else {
			e.done[r.op.ID] = true
		}
	}
	switch {
	case len(errs) > 0:
		return errors.Join(errs...)
	case ctx.Err() != nil:
		return ctx.Err()
	case len(e.done) < len(e.plan.Ops):
		return fmt.Errorf("plan is stuck: %d of %d operations cannot run", len(e.plan.Ops)-len(e.done), len(e.plan.Ops))
	}
	return nil
}

// ready returns, once each, the ops whose dependencies all succeeded.
func (e *executor) ready() []*Op {
	var out []*Op
	for _, op := range e.plan.Ops {
		if e.queued[op.ID] {
			continue
		}
		if !all(op.Deps, e.done) {
			continue
		}
		e.queued[op.ID] = true
		out = append(out, op)
	}
	return out
}

func all(ids []int, set map[int]bool) bool {
	for _, id := range ids {
		if !set[id] {
			return false
		}
	}
	return true
}

func (e *executor) exec(ctx context.Context, op *Op, results chan<- opResult) {
	e.sink.Event(progress.Event{ID: opID(op), Status: verb(op, false)})
	err := e.runner.Run(ctx, op)
	if err != nil {
		e.sink.Event(progress.Event{ID: opID(op), Status: "Error", Text: err.Error(), Done: true, Err: true})
	} else {
		e.sink.Event(progress.Event{ID: opID(op), Status: verb(op, true), Done: true})
	}
	results <- opResult{op, err}
}

// opID names an op's object as Docker Compose's progress lines do.
func opID(op *Op) string {
	switch op.Resource {
	case ResNetwork:
		return "Network " + op.Name
	case ResVolume:
		return "Volume " + op.Name
	case ResService:
		return "Service " + op.Name
	}
	return "Container " + op.Name
}

// verb is the status of an op while it runs and once it is done.
func verb(op *Op, done bool) string {
	words := map[OpKind][2]string{
		OpCreate:        {"Creating", "Created"},
		OpRecreate:      {"Recreating", "Recreated"},
		OpStart:         {"Starting", "Started"},
		OpStop:          {"Stopping", "Stopped"},
		OpRemove:        {"Removing", "Removed"},
		OpWaitHealthy:   {"Waiting", "Healthy"},
		OpWaitCompleted: {"Waiting", "Exited"},
		OpWaitRunning:   {"Waiting", "Running"},
		OpRestart:       {"Restarting", "Started"},
		OpKill:          {"Killing", "Killed"},
		OpPause:         {"Pausing", "Paused"},
		OpUnpause:       {"Unpausing", "Unpaused"},
	}
	w, ok := words[op.Kind]
	if !ok {
		w = [2]string{op.Kind.String(), op.Kind.String()}
	}
	if done {
		return w[1]
	}
	return w[0]
}
