package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/plan"
	"github.com/berth-dev/berth/service/supervise"
	"github.com/berth-dev/berth/volumes"
)

// upRunner carries out the operations of an up plan.
type upRunner struct {
	e        *Engine
	p        *types.Project
	g        *project.Graph
	images   map[string]ctrd.ImageInfo
	observed Observed
	timeout  *time.Duration
	oneoff   bool // containers are one-off `run` containers
	// renewAnon gives recreated containers new anonymous volumes (up -V)
	renewAnon bool
	slots     slots
	// startsLater are the containers the plan starts after creating them:
	// their tasks are created with them
	startsLater map[string]bool
	helper      helperGate
}

// newUpRunner is the runner of a plan of up or run.
func (e *Engine) newUpRunner(p *types.Project, g *project.Graph, images map[string]ctrd.ImageInfo, observed Observed, pl *Plan) *upRunner {
	r := &upRunner{e: e, p: p, g: g, images: images, observed: observed, slots: newSlots(e.parallel()), startsLater: map[string]bool{}}
	for _, op := range pl.Ops {
		if op.Kind == plan.OpStart && op.Resource == plan.ResContainer {
			r.startsLater[op.Name] = true
		}
	}
	return r
}

// execute carries out the plan; it returns once the helper started for its
// networks serves them too.
func (r *upRunner) execute(ctx context.Context, pl *Plan, sink progress.Sink) error {
	if l, ok := r.e.Runtime.(leaser); ok && pl.Creates() {
		lctx, release, err := l.CreateLease(ctx, upLease(r.p.Name))
		if err != nil {
			return err
		}
		defer release()
		ctx = lctx
	}
	err := plan.Execute(ctx, pl, r, len(pl.Ops), sink)
	return errors.Join(err, r.helper.wait())
}

// leaser is a runtime that can hold what up creates under one lease
// (*ctrd.Client); without one, each creation holds its own.
type leaser interface {
	CreateLease(ctx context.Context, id string) (context.Context, func(), error)
	ReleaseLease(ctx context.Context, id string) error
}

// orphanClearer is the part of the runtime that removes tasks left without
// their container.
type orphanClearer interface {
	ClearOrphanTasks(ctx context.Context, prefix string) error
}

// upLease names the lease up and run hold their creations under.
func upLease(projectName string) string { return "berth-up-" + projectName }

// helperGate lets a network's creation start berth's helper without waiting for
// it: creating containers needs only the bridge, a started container's first
// name lookup needs the helper. Container starts wait for every helper start
// begun so far.
type helperGate struct {
	mu      sync.Mutex
	pending []*helperStart
}

type helperStart struct {
	done chan struct{}
	err  error
}

func (g *helperGate) begin(ensure func() error) {
	h := &helperStart{done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, h)
	g.mu.Unlock()
	go func() {
		h.err = ensure()
		close(h.done)
	}()
}

// wait returns once the helper starts begun so far are done, with the first failure.
func (g *helperGate) wait() error {
	g.mu.Lock()
	pending := g.pending
	g.mu.Unlock()
	for _, h := range pending {
		<-h.done
		if h.err != nil {
			return h.err
		}
	}
	return nil
}

func (r *upRunner) Run(ctx context.Context, op *Op) error {
	switch {
	case op.Resource == plan.ResNetwork:
		return r.slots.do(ctx, func() error { return r.createNetwork(ctx, op) })
	case op.Resource == plan.ResVolume:
		return r.slots.do(ctx, func() error { return r.createVolume(op) })
	case op.Kind == plan.OpCreate:
		return r.slots.do(ctx, func() error { return r.createContainer(ctx, op) })
	case op.Kind == plan.OpRecreate:
		if err := r.e.stopForRemoval(ctx, *op.Old, r.timeout); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error {
			if err := r.e.deleteStopped(ctx, *op.Old, !r.renewAnon); err != nil {
				return err
			}
			return r.createContainer(ctx, op)
		})
	case op.Kind == plan.OpStart:
		if err := r.helper.wait(); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error { return r.e.startContainer(ctx, op.Name) })
	case op.Kind == plan.OpRemove:
		if err := r.e.stopForRemoval(ctx, *op.Old, r.timeout); err != nil {
			return err
		}
		// a container displaced by a recreated volume keeps none of its anonymous ones
		return r.slots.do(ctx, func() error { return r.e.deleteStopped(ctx, *op.Old, false) })
	case op.Kind == plan.OpWaitHealthy, op.Kind == plan.OpWaitCompleted, op.Kind == plan.OpWaitRunning:
		return r.e.waitService(ctx, r.p.Name, op.Service, op.Kind)
	}
	return fmt.Errorf("unknown operation %s", op)
}

// createNetwork creates a project network, or recreates one whose definition
// changed (its containers were removed before, by the plan).
func (r *upRunner) createNetwork(ctx context.Context, op *Op) error {
	if op.Kind == plan.OpRecreate {
		if err := r.e.Networks.Remove(ctx, op.Name); err != nil {
			return fmt.Errorf("recreate network %q: %w", op.Name, err)
		}
	}
	if _, err := r.e.Networks.Ensure(ctx, *op.Network); err != nil {
		return err
	}
	r.helper.begin(func() error { return r.e.ensureHelper(ctx, op.Name) })
	return nil
}

// createVolume creates a project's named volume, or recreates one whose definition
// changed when up was told --yes (its containers were removed before, by the plan).
func (r *upRunner) createVolume(op *Op) error {
	if op.Kind == plan.OpRecreate {
		if err := r.e.Volumes.Remove(op.Name); err != nil {
			return fmt.Errorf("recreate volume %q: %w", op.Name, err)
		}
	}
	_, _, err := r.e.Volumes.Create(volumeSpec(*op.Volume))
	return err
}

// volumeSpec is the volume manager's spec of a translated volume.
func volumeSpec(v translate.Volume) volumes.Spec {
	return volumes.Spec{Name: v.Name, Labels: v.Labels, Device: v.Device}
}

// waitService waits until every replica of a service meets the condition.
func (e *Engine) waitService(ctx context.Context, projectName, service string, kind OpKind) error {
	infos, err := e.Runtime.ListContainers(ctx, map[string]string{record.LabelProject: projectName, record.LabelService: service})
	if err != nil {
		return err
	}
	errs := make(chan error, len(infos))
	n := 0
	for _, info := range infos {
		c := e.fromInfo(info)
		if c.Oneoff {
			continue
		}
		n++
		go func() { errs <- e.waitContainer(ctx, service, c, kind) }()
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

func (e *Engine) waitContainer(ctx context.Context, service string, c Container, kind OpKind) error {
	switch kind {
	case plan.OpWaitCompleted:
		code := c.ExitCode
		if c.State != StateExited {
			var err error
			if code, err = e.Runtime.Wait(ctx, c.ID); err != nil {
				return err
			}
		}
		if code != 0 {
			return fmt.Errorf("service %q didn't complete successfully: exit %d", service, code)
		}
		return nil
	case plan.OpWaitHealthy:
		hc := c.Health
		if hc == nil {
			return fmt.Errorf("service %q has no health check: it cannot become healthy (use condition: service_started)", service)
		}
		started := c.StartedAt
		if started.IsZero() {
			started = time.Now()
		}
		if err := supervise.WaitHealthy(ctx, e.Runtime, e.supervisionFiles(), c.ID, *hc, started); err != nil {
			return fmt.Errorf("dependency failed to start: service %q: %w", service, err)
		}
		return nil
	}
	if !c.Running() {
		return fmt.Errorf("service %q: container %s is %s", service, c.Name, c.State)
	}
	return nil
}
