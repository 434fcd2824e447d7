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
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/plan"
)

// DownRequest is `down` with its flags.
type DownRequest struct {
	// Project is the loaded Compose file, or nil when down works from
	// labels alone (-p NAME without a file).
	Project       *types.Project
	RemoveOrphans bool
	Volumes       bool
	// RemoveImages is --rmi: "local" removes the images berth names itself
	// (services without image:), "all" every service image.
	RemoveImages string
	Timeout      *time.Duration
	DryRun       bool
}

// Down stops and removes the project's containers, dependents first and
// independent services in parallel, then its networks and, with -v, its
// volumes. It works from labels, so a crashed or half-made project goes
// too.
func (e *Engine) Down(ctx context.Context, projectName string, req DownRequest) (*Plan, error) {
	unlock, err := e.lock(ctx, projectName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	observed, err := e.observe(ctx, projectName)
	if err != nil {
		return nil, err
	}
	nets, vols, err := e.projectResources(projectName)
	if err != nil {
		return nil, err
	}
	opts := DownOptions{RemoveOrphans: req.RemoveOrphans, Networks: nets}
	if req.Volumes {
		opts.Volumes = vols
	}
	if req.Project != nil {
		opts.Services = append(req.Project.ServiceNames(), req.Project.DisabledServiceNames()...)
	}
	pl := plan.PlanDown(observed, opts)
	if req.DryRun {
		return pl, nil
	}
	r := newDownRunner(e, observed, req.Timeout, pl)
	// every op at once: the bound on the work is the runner's slots
	err = plan.Execute(ctx, pl, r, len(pl.Ops), e.Progress)
	left := errors.Join(r.left...)
	if err := errors.Join(err, r.helperStopped()); err != nil {
		return pl, errors.Join(err, left)
	}
	if err := e.sweep(ctx, projectName); err != nil {
		return pl, errors.Join(err, left)
	}
	if r.helperDone == nil {
		if err := e.stopIdleHelper(ctx); err != nil {
			return pl, errors.Join(err, left)
		}
	}
	return pl, errors.Join(e.removeImages(ctx, req.Project, req.RemoveImages), left)
}

func (e *Engine) removeImages(ctx context.Context, p *types.Project, mode string) error {
	if p == nil || mode == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		ref := project.ImageName(p.Name, s)
		if seen[ref] || (mode == "local" && s.Image != "") {
			continue
		}
		seen[ref] = true
		if err := e.Runtime.RemoveImage(ctx, ref); err != nil {
			return err
		}
		progress.Or(e.Progress).Event(progress.Event{ID: "Image " + ref, Status: "Removed", Done: true})
	}
	return nil
}

type downRunner struct {
	e        *Engine
	observed Observed
	timeout  *time.Duration
	// slots bounds the containers being deleted and detached at once, not
	// the ones being stopped: every container gets its stop signal at once,
	// as with Docker Compose, and none waits out another's grace period.
	slots slots
	// removing are the networks the plan removes.
	removing map[string]bool
	// helperOnce decides, when the first network goes, whether berth's
	// helper can stop meanwhile; helperDone then reports its stop.
	helperOnce sync.Once
	helperDone chan error
	// left are the containers whose files could not be removed: reported once
	// everything else is gone
	mu   sync.Mutex
	left []error
}

func newDownRunner(e *Engine, observed Observed, timeout *time.Duration, pl *Plan) *downRunner {
	r := &downRunner{e: e, observed: observed, timeout: timeout,
		slots: newSlots(e.parallel()), removing: map[string]bool{}}
	for _, op := range pl.Ops {
		if op.Resource == plan.ResNetwork {
			r.removing[op.Name] = true
		}
	}
	return r
}

func (r *downRunner) Run(ctx context.Context, op *Op) error {
	switch op.Resource {
	case plan.ResContainer:
		for _, c := range r.observed.Containers {
			if c.Name == op.Name {
				return r.removeContainer(ctx, c)
			}
		}
		return nil
	case plan.ResNetwork:
		if err := r.e.detachStale(ctx, op.Name); err != nil {
			return err
		}
		r.helperOnce.Do(func() { r.stopHelperEarly(ctx) })
		return r.e.Networks.Remove(ctx, op.Name)
	case plan.ResVolume:
		return r.e.Volumes.Remove(op.Name)
	}
	return fmt.Errorf("unknown operation %s", op)
}

// removeContainer stops c, then deletes and detaches it in a free slot.
func (r *downRunner) removeContainer(ctx context.Context, c Container) error {
	if err := r.e.stopForRemoval(ctx, c, r.timeout); err != nil {
		return err
	}
	err := r.slots.do(ctx, func() error { return r.e.deleteStopped(ctx, c, false) })
	if _, ok := errors.AsType[leftFiles](err); ok {
		r.mu.Lock()
		r.left = append(r.left, fmt.Errorf("service %q: %w", c.Service, err))
		r.mu.Unlock()
		return nil
	}
	return err
}

// stopHelperEarly starts stopping berth's helper while the networks go
// when they are the data root's last ones and no container is attached to
// any of them: the helper has nothing left to serve, and its exit takes
// about as long as a network's removal. Should a removal fail, the next up
// starts the helper again for the network that is left.
func (r *downRunner) stopHelperEarly(ctx context.Context) {
	if r.e.Helper == nil || !r.lastNetworksIdle() {
		return
	}
	r.helperDone = make(chan error, 1)
	go func() { r.helperDone <- r.e.Helper.Stop(context.WithoutCancel(ctx)) }()
}

// lastNetworksIdle reports whether the networks being removed are all the
// data root has and none has a container attached.
func (r *downRunner) lastNetworksIdle() bool {
	nets, err := r.e.Networks.List()
	if err != nil {
		return false
	}
	for _, n := range nets {
		ids, err := r.e.Networks.Attachments(n.Name)
		if !r.removing[n.Name] || err != nil || len(ids) > 0 {
			return false
		}
	}
	return true
}

// helperStopped waits for the helper's stop, if it was started.
func (r *downRunner) helperStopped() error {
	if r.helperDone == nil {
		return nil
	}
	return <-r.helperDone
}

// stopIdleHelper stops berth's helper once no network is left for it to
// serve, so that down leaves nothing running and nothing on disk.
func (e *Engine) stopIdleHelper(ctx context.Context) error {
	if e.Helper == nil {
		return nil
	}
	nets, err := e.Networks.List()
	if err != nil || len(nets) > 0 {
		return err
	}
	return e.Helper.Stop(ctx)
}

// detachStale releases attachments whose container is gone: what a berth
// killed between deleting a container and detaching it leaves.
func (e *Engine) detachStale(ctx context.Context, networkName string) error {
	ids, err := e.Networks.Attachments(networkName)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		_, err := e.Runtime.Container(ctx, id)
		if err != nil && !errors.Is(err, ctrd.ErrContainerNotFound) {
			return err
		}
		if err != nil {
			errs = append(errs, e.Networks.Detach(ctx, e.Networks.NetNSPath(id), network.AttachRequest{ContainerID: id}))
		}
	}
	return errors.Join(errs...)
}

// sweep removes what a crash can leave without a container to find it by:
// anonymous volumes whose container is gone, a killed up's lease, and tasks
// whose creation containerd finished after their container was deleted.
func (e *Engine) sweep(ctx context.Context, projectName string) error {
	// a killed up's lease holds snapshots it prepared for containers it never made
	if l, ok := e.Runtime.(leaser); ok {
		if err := l.ReleaseLease(ctx, upLease(projectName)); err != nil {
			return err
		}
	}
	infos, err := e.Runtime.ListContainers(ctx, map[string]string{record.LabelProject: projectName})
	if err != nil {
		return err
	}
	alive := map[string]bool{}
	for _, info := range infos {
		alive[e.fromInfo(info).Name] = true
	}
	if o, ok := e.Runtime.(orphanClearer); ok {
		// the project's containers are named <project>-<service>-<n>
		if err := o.ClearOrphanTasks(ctx, projectName+"-"); err != nil {
			return err
		}
	}
	vols, err := e.Volumes.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range vols {
		owner := v.Labels[record.LabelAnonymous]
		if owner != "" && v.Labels[record.LabelProject] == projectName && !alive[owner] {
			errs = append(errs, e.Volumes.Remove(v.Name))
		}
	}
	return errors.Join(errs...)
}
