package service

import (
	"fmt"
	"slices"
)

// upPlanner carries the state of one PlanUp call.
type upPlanner struct {
	d    Desired
	o    Observed
	opts UpOptions
	plan *Plan

	resources map[string]int // network/volume name -> create op
	created   map[string][]int
	started   map[string][]int
	recreated map[string]bool
	waits     map[string]int // service+condition -> wait op
	services  map[string]DesiredService
}

// PlanUp computes what `up` must do to turn o into d. It is a pure
// function: everything it needs is in its arguments.
func PlanUp(d Desired, o Observed, opts UpOptions) (*Plan, error) {
	p := &upPlanner{
		d: d, o: o, opts: opts, plan: &Plan{},
		resources: map[string]int{},
		created:   map[string][]int{},
		started:   map[string][]int{},
		recreated: map[string]bool{},
		waits:     map[string]int{},
		services:  map[string]DesiredService{},
	}
	for _, s := range d.Services {
		p.services[s.Name] = s
	}
	if err := p.resourceOps(); err != nil {
		return nil, err
	}
	for _, s := range d.Services {
		p.serviceOps(s)
	}
	for _, s := range d.Services {
		p.startOps(s)
	}
	p.orphanOps()
	if opts.Wait && !opts.NoStart {
		for _, s := range d.Services {
			p.readyWait(s)
		}
	}
	return p.plan, nil
}

// resourceOps creates the missing networks and volumes; a missing external
// one is an error before anything is done.
func (p *upPlanner) resourceOps() error {
	for _, kind := range []struct {
		res      string
		list     []Resource
		observed map[string]bool
	}{{ResNetwork, p.d.Networks, p.o.Networks}, {ResVolume, p.d.Volumes, p.o.Volumes}} {
		for _, r := range kind.list {
			if kind.observed[r.Name] {
				continue
			}
			if r.External {
				return fmt.Errorf("external %s %q not found: create it first, or remove external: true", kind.res, r.Name)
			}
			op := p.plan.add(&Op{Kind: OpCreate, Resource: kind.res, Name: r.Name, Reason: "missing"})
			p.resources[r.Name] = op.ID
		}
	}
	return nil
}

// serviceOps decides for each replica whether to create, recreate, start
// or keep it, and removes replicas beyond the wanted count.
func (p *upPlanner) serviceOps(s DesiredService) {
	existing := p.o.containersOf(s.Name)
	byNumber := map[int]Container{}
	for _, c := range existing {
		byNumber[c.Number] = c
	}
	reason := p.recreateReason(s)
	for n := 1; n <= s.Replicas; n++ {
		name := s.ContainerNames[n-1]
		c, ok := byNumber[n]
		switch {
		case !ok:
			p.createOp(s, n, name, OpCreate, "missing")
		case p.opts.NoRecreate:
		case p.opts.ForceRecreate:
			p.createOp(s, n, name, OpRecreate, "forced")
		case c.ConfigHash != s.Hash:
			p.createOp(s, n, name, OpRecreate, "config changed")
		case s.ImageID != "" && c.ImageID != s.ImageID:
			p.createOp(s, n, name, OpRecreate, "image changed")
		case reason != "":
			p.createOp(s, n, name, OpRecreate, reason)
		}
	}
	// scale down from the highest number, as Docker Compose does
	for i := len(existing) - 1; i >= 0; i-- {
		if c := existing[i]; c.Number > s.Replicas {
			p.plan.add(&Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: s.Name, Number: c.Number, Reason: "scaled down"})
		}
	}
}

// recreateReason says why a dependency forces this service's containers to
// be recreated: it shares a namespace with a recreated container, or it
// asked for it with depends_on.restart or --always-recreate-deps.
func (p *upPlanner) recreateReason(s DesiredService) string {
	if p.opts.NoRecreate {
		return ""
	}
	for _, dep := range s.Deps {
		if !p.recreated[dep.Service] {
			continue
		}
		if dep.Namespace || dep.Restart || p.opts.AlwaysRecreateDeps {
			return fmt.Sprintf("dependency %s recreated", dep.Service)
		}
	}
	return ""
}

func (p *upPlanner) createOp(s DesiredService, n int, name string, kind OpKind, reason string) {
	op := &Op{Kind: kind, Resource: ResContainer, Name: name, Service: s.Name, Number: n, Reason: reason}
	for _, r := range append(slices.Clone(s.Networks), s.Volumes...) {
		if id, ok := p.resources[r]; ok {
			op.Deps = append(op.Deps, id)
		}
	}
	for _, dep := range s.Deps {
		if dep.Namespace {
			op.Deps = append(op.Deps, p.created[dep.Service]...)
		}
	}
	p.plan.add(op)
	p.created[s.Name] = append(p.created[s.Name], op.ID)
	if kind == OpRecreate {
		p.recreated[s.Name] = true
	}
}

// startOps starts what was created and what is not running, each replica
// once its dependencies' conditions hold.
func (p *upPlanner) startOps(s DesiredService) {
	if p.opts.NoStart {
		return
	}
	createdByNumber := map[int]int{}
	for _, id := range p.created[s.Name] {
		createdByNumber[p.plan.Ops[id-1].Number] = id
	}
	existing := map[int]Container{}
	for _, c := range p.o.containersOf(s.Name) {
		existing[c.Number] = c
	}
	var ops []*Op
	for n := 1; n <= s.Replicas; n++ {
		op := &Op{Kind: OpStart, Resource: ResContainer, Name: s.ContainerNames[n-1], Service: s.Name, Number: n}
		if id, ok := createdByNumber[n]; ok {
			op.Deps = append(op.Deps, id)
		} else if c := existing[n]; c.Running() || p.keepExited(s.Name, c) {
			continue
		} else {
			op.Reason = "not running"
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return // nothing starts, so no dependency needs waiting for
	}
	var gate []int
	for _, dep := range s.Deps {
		gate = append(gate, p.depGate(dep)...)
	}
	for _, op := range ops {
		op.Deps = append(op.Deps, gate...)
		p.plan.add(op)
		p.started[s.Name] = append(p.started[s.Name], op.ID)
	}
}

// keepExited leaves a one-shot dependency that already completed alone: a
// second `up` must not run a finished migration again.
func (p *upPlanner) keepExited(service string, c Container) bool {
	return c.State == StateExited && c.ExitCode == 0 && p.oneShot(service)
}

// depGate returns the ops a dependent's start must wait for.
func (p *upPlanner) depGate(dep Dep) []int {
	if _, ok := p.services[dep.Service]; !ok {
		return nil // not selected (--no-deps) or optional and absent
	}
	switch dep.Condition {
	case ConditionHealthy:
		return []int{p.wait(dep.Service, OpWaitHealthy)}
	case ConditionCompleted:
		return []int{p.wait(dep.Service, OpWaitCompleted)}
	}
	return p.started[dep.Service]
}

// wait returns the op that waits for a service's condition, adding it once.
func (p *upPlanner) wait(service string, kind OpKind) int {
	key := service + "/" + string(kind)
	if id, ok := p.waits[key]; ok {
		return id
	}
	op := p.plan.add(&Op{Kind: kind, Resource: ResService, Name: service, Service: service, Deps: slices.Clone(p.started[service])})
	p.waits[key] = op.ID
	return op.ID
}

// readyWait is --wait: every service running, and healthy when it has a
// health check.
func (p *upPlanner) readyWait(s DesiredService) {
	if s.Replicas == 0 || p.oneShot(s.Name) {
		return
	}
	kind := OpWaitRunning
	if s.HasHealthcheck {
		kind = OpWaitHealthy
	}
	p.wait(s.Name, kind)
}

// oneShot says whether a service is a dependency others wait to complete:
// --wait does not expect it to keep running.
func (p *upPlanner) oneShot(service string) bool {
	for _, s := range p.d.Services {
		for _, dep := range s.Deps {
			if dep.Service == service && dep.Condition == ConditionCompleted {
				return true
			}
		}
	}
	return false
}

// orphanOps removes, with --remove-orphans, the containers of services the
// project no longer has; otherwise it warns about them.
func (p *upPlanner) orphanOps() {
	var orphans []string
	for _, c := range p.o.Containers {
		if c.Oneoff || slices.Contains(p.d.AllServices, c.Service) {
			continue
		}
		if p.opts.RemoveOrphans {
			p.plan.add(&Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number, Reason: "orphan"})
		} else {
			orphans = append(orphans, c.Name)
		}
	}
	if len(orphans) > 0 {
		p.plan.Warnings = append(p.plan.Warnings, fmt.Sprintf(
			"found orphan containers (%s) for this project: if you removed or renamed their service in the compose file, run this command with --remove-orphans to clean them up",
			joinNames(orphans)))
	}
}

func joinNames(names []string) string {
	slices.Sort(names)
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
