package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/signal"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/plan"
)

// lifecycleRuntime is what the lifecycle commands (stop, kill, pause, top,
// stats, events) need of containerd beyond Runtime; *ctrd.Client
// implements it.
type lifecycleRuntime interface {
	StopContainer(ctx context.Context, id, stopSignal string, timeout time.Duration) error
	Kill(ctx context.Context, id, signal string) error
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Pids(ctx context.Context, id string) ([]uint32, error)
	Metrics(ctx context.Context, id string) (ctrd.Metrics, error)
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

func (e *Engine) lifecycle() (lifecycleRuntime, error) {
	rt, ok := e.Runtime.(lifecycleRuntime)
	if !ok {
		return nil, errors.New("the container runtime cannot stop, signal or inspect tasks")
	}
	return rt, nil
}

// LifecycleRequest is stop, start, restart, kill, pause, unpause or rm with
// their flags.
type LifecycleRequest struct {
	// Services selects services; empty means every service of the project.
	Services []string
	// Timeout overrides each container's stop_grace_period.
	Timeout *time.Duration
	// Signal is kill's signal; empty means SIGKILL.
	Signal string
	// NoDeps keeps restart from restarting dependents declared with
	// depends_on.<svc>.restart: true.
	NoDeps bool
	// Stop makes rm stop running containers first; Volumes makes it remove
	// their anonymous volumes.
	Stop, Volumes bool
	DryRun        bool
}

// Stop stops the services' containers with their stop signal and grace
// period, then SIGKILL; the containers stay, exited.
func (e *Engine) Stop(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return plan.PlanStop(o, req.Services), nil
	})
}

// Start starts the services' existing containers that are not running.
func (e *Engine) Start(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return plan.PlanStart(o, req.Services)
	})
}

// Restart stops and starts the services' containers.
func (e *Engine) Restart(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return plan.PlanRestart(o, req.Services, req.NoDeps), nil
	})
}

// Kill sends a signal to the main process of the services' running
// containers.
func (e *Engine) Kill(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return plan.PlanEach(o, req.Services, plan.OpKill, plan.IsUp), nil
	})
}

// Pause freezes the services' running containers.
func (e *Engine) Pause(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return plan.PlanEach(o, req.Services, plan.OpPause, func(c Container) bool { return c.State == StateRunning }), nil
	})
}

// Unpause thaws the services' paused containers.
func (e *Engine) Unpause(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return plan.PlanEach(o, req.Services, plan.OpUnpause, func(c Container) bool { return c.State == StatePaused }), nil
	})
}

// Remove removes the services' stopped containers (running ones too with
// req.Stop, stopped first), their network attachments and generated files,
// and with req.Volumes their anonymous volumes. confirm sees the names
// before anything changes and may refuse.
func (e *Engine) Remove(ctx context.Context, projectName string, req LifecycleRequest, confirm func(names []string) (bool, error)) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		pl := plan.PlanRemove(o, req.Services, req.Stop)
		var names []string
		for _, op := range pl.Ops {
			if op.Kind == plan.OpRemove {
				names = append(names, op.Name)
			}
		}
		if len(names) == 0 || req.DryRun || confirm == nil {
			return pl, nil
		}
		ok, err := confirm(names)
		if err != nil || !ok {
			return nil, err
		}
		return pl, nil
	})
}

// runLifecycle observes the project's containers, plans and executes;
// commands that change what up would plan hold the project's lock.
func (e *Engine) runLifecycle(ctx context.Context, projectName string, req LifecycleRequest, lock bool, planFn func(Observed) (*Plan, error)) (*Plan, error) {
	rt, err := e.lifecycle()
	if err != nil {
		return nil, err
	}
	if lock {
		unlock, err := e.lock(ctx, projectName)
		if err != nil {
			return nil, err
		}
		defer unlock()
	} else if err := project.ValidateName(projectName); err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	pl, err := planFn(Observed{Containers: cs})
	if err != nil || pl == nil || req.DryRun {
		return pl, err
	}
	r := &lifecycleRunner{e: e, rt: rt, projectName: projectName, req: req, byName: map[string]Container{},
		slots: newSlots(e.parallel())}
	for _, c := range cs {
		r.byName[c.Name] = c
	}
	// every op may run at once: the slots bound the work, not the grace periods
	return pl, plan.Execute(ctx, pl, r, len(pl.Ops), progress.Or(e.Progress))
}

// lifecycleRunner carries out the lifecycle ops on observed containers.
type lifecycleRunner struct {
	e           *Engine
	rt          lifecycleRuntime
	projectName string
	req         LifecycleRequest
	byName      map[string]Container
	slots       slots
}

func (r *lifecycleRunner) Run(ctx context.Context, op *Op) error {
	if plan.IsWait(op.Kind) {
		return r.e.waitService(ctx, r.projectName, op.Service, op.Kind)
	}
	c, ok := r.byName[op.Name]
	if !ok {
		return fmt.Errorf("container %s is not part of the project", op.Name)
	}
	if err := r.run(ctx, op.Kind, c); err != nil {
		return fmt.Errorf("service %q: %w", c.Service, err)
	}
	return nil
}

func (r *lifecycleRunner) run(ctx context.Context, kind OpKind, c Container) error {
	switch kind {
	case plan.OpStop:
		return r.e.stopContainer(ctx, r.rt, c, r.req.Timeout)
	case plan.OpStart:
		return r.slots.do(ctx, func() error { return r.e.startContainer(ctx, c.ID) })
	case plan.OpRestart:
		if err := r.e.stopContainer(ctx, r.rt, c, r.req.Timeout); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error { return r.e.startContainer(ctx, c.ID) })
	case plan.OpKill:
		return r.slots.do(ctx, func() error { return r.kill(ctx, c) })
	case plan.OpPause:
		return r.slots.do(ctx, func() error { return r.rt.Pause(ctx, c.ID) })
	case plan.OpUnpause:
		return r.slots.do(ctx, func() error { return r.rt.Resume(ctx, c.ID) })
	case plan.OpRemove:
		if err := r.e.stopForRemoval(ctx, c, r.req.Timeout); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error { return r.e.deleteStopped(ctx, c, !r.req.Volumes) })
	}
	return fmt.Errorf("unknown operation %s", kind)
}

// kill signals the container's main process. SIGKILL keeps the container
// down whatever its restart policy and reaches a paused one too, as with
// Docker; other signals leave both alone.
func (r *lifecycleRunner) kill(ctx context.Context, c Container) error {
	sig := r.req.Signal
	if sig == "" {
		sig = "SIGKILL"
	}
	s, err := signal.ParseSignal(sig)
	if err != nil {
		return err
	}
	if s == syscall.SIGKILL {
		if err := r.e.markStopping(ctx, c); err != nil {
			return err
		}
	}
	if err := r.rt.Kill(ctx, c.ID, sig); err != nil {
		return err
	}
	if s == syscall.SIGKILL && c.State == StatePaused {
		return r.rt.Resume(ctx, c.ID) // a frozen process dies once thawed
	}
	return nil
}

// stopContainer stops a container's task with its stop signal and grace
// period and keeps the exited task, so ps shows its exit code.
func (e *Engine) stopContainer(ctx context.Context, rt lifecycleRuntime, c Container, timeout *time.Duration) error {
	// marked even when it is not up: an exited container may be waiting
	// for its restart policy's back-off, and stop must cancel that restart
	if err := e.markStopping(ctx, c); err != nil {
		return err
	}
	if !plan.IsUp(c) {
		return nil
	}
	return rt.StopContainer(ctx, c.ID, c.StopSignal, stopGrace(c, timeout))
}

// markStopping labels a container a person stops, as removeContainer
// does: the supervisor and containerd's restart monitor leave it down, and
// a berth killed mid-stop leaves a container the next up starts again.
func (e *Engine) markStopping(ctx context.Context, c Container) error {
	if err := e.updateState(c.Name, func(st *runState) { st.Stopping = true }); err != nil {
		return err
	}
	// containerd's restart monitor reads only its label
	if _, ok := c.Labels[restartStatusLabel]; ok {
		err := e.Runtime.SetLabels(ctx, c.ID, map[string]string{restartStatusLabel: "stopped"})
		if err != nil && !ctrd.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// restartStatusLabel is what containerd's restart monitor restarts by.
const restartStatusLabel = "containerd.io/restart.status"

// stopGrace is --timeout, else the service's stop_grace_period, else
// Docker's 10 s.
func stopGrace(c Container, timeout *time.Duration) time.Duration {
	if timeout != nil {
		return *timeout
	}
	if c.StopGrace >= 0 {
		return c.StopGrace
	}
	return translate.DefaultStopGrace
}

// WaitResult is the exit of one container that wait watched.
type WaitResult struct {
	Container Container
	ExitCode  int
}

// Wait blocks until the services' started containers have exited and
// reports each exit as it happens; containers that had already exited
// come first, by exit time.
func (e *Engine) Wait(ctx context.Context, projectName string, services []string, exited func(WaitResult)) error {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return err
	}
	var waiting, done []Container
	for _, c := range cs {
		if len(services) > 0 && !slices.Contains(services, c.Service) {
			continue
		}
		switch {
		case plan.IsUp(c):
			waiting = append(waiting, c)
		case c.State == StateExited:
			done = append(done, c)
		}
	}
	if len(waiting)+len(done) == 0 {
		return fmt.Errorf("no containers to wait for: service(s) %s have no started container in project %q", strings.Join(services, ", "), projectName)
	}
	sort.SliceStable(done, func(i, j int) bool { return done[i].ExitedAt.Before(done[j].ExitedAt) })
	for _, c := range done {
		exited(WaitResult{Container: c, ExitCode: c.ExitCode})
	}
	type outcome struct {
		c    Container
		code int
		err  error
	}
	results := make(chan outcome, len(waiting))
	for _, c := range waiting {
		go func() {
			code, err := e.Runtime.Wait(ctx, c.ID)
			results <- outcome{c, code, err}
		}()
	}
	var errs []error
	for range waiting {
		r := <-results
		if r.err != nil {
			errs = append(errs, fmt.Errorf("service %q: %w", r.c.Service, r.err))
			continue
		}
		exited(WaitResult{Container: r.c, ExitCode: r.code})
	}
	return errors.Join(errs...)
}
