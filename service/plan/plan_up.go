package plan

import (
	"fmt"
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/network/netspec"
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
	// displaced containers are removed for a recreated network or volume
	// (by displacedBy's reason) and created again
	displaced   map[string]bool
	displacedBy map[string]string
}

// PlanUp computes what `up` must do to turn o into d. It is a pure
// function: everything it needs is in its arguments.
func PlanUp(d Desired, o Observed, opts UpOptions) (*Plan, error) {
	p := newUpPlanner(d, o, opts)
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
	p.plan.Warnings = append(d.Warnings, p.plan.Warnings...)
	if opts.Wait && !opts.NoStart {
		for _, s := range d.Services {
			p.readyWait(s)
		}
	}
	return p.plan, nil
}

// PlanRun is what run does before its one-off container starts: the networks and
// named volumes the container uses, created or recreated as up would, then the
// container itself.
func PlanRun(d Desired, o Observed, s types.ServiceConfig, name string) (*Plan, error) {
	i := slices.IndexFunc(d.Services, func(ds DesiredService) bool { return ds.Name == s.Name })
	if i < 0 {
		return nil, fmt.Errorf("no such service: %s", s.Name)
	}
	ds := d.Services[i]
	ds.Replicas, ds.ContainerNames = 1, []string{name}
	d.Networks = slices.DeleteFunc(d.Networks, func(r Resource) bool { return !slices.Contains(ds.Networks, r.Name) })
	d.Volumes = slices.DeleteFunc(d.Volumes, func(r Resource) bool { return !slices.Contains(ds.Volumes, r.Name) })
	d.Services = nil
	p := newUpPlanner(d, o, UpOptions{})
	if err := p.resourceOps(); err != nil {
		return nil, err
	}
	p.createOp(ds, 1, name, OpCreate, "one-off", nil)
	p.plan.Warnings = d.Warnings
	return p.plan, nil
}

func newUpPlanner(d Desired, o Observed, opts UpOptions) *upPlanner {
	p := &upPlanner{
		d: d, o: o, opts: opts, plan: &Plan{},
		resources: map[string]int{},
		created:   map[string][]int{},
		started:   map[string][]int{},
		recreated: map[string]bool{},
		waits:     map[string]int{},
		services:  map[string]DesiredService{},
		displaced: map[string]bool{}, displacedBy: map[string]string{},
	}
	for _, s := range d.Services {
		p.services[s.Name] = s
	}
	return p
}

// resourceOps creates the missing networks and volumes and recreates the ones whose
// definition changed; a missing external one is an error before anything is done.
func (p *upPlanner) resourceOps() error {
	for _, r := range p.d.Networks {
		if err := p.networkOp(r); err != nil {
			return err
		}
	}
	for _, r := range p.d.Volumes {
		if err := p.volumeOp(r); err != nil {
			return err
		}
	}
	return nil
}

func (p *upPlanner) networkOp(r Resource) error {
	if !p.o.Networks[r.Name] {
		if r.External {
			return fmt.Errorf("network %s declared as external, but could not be found: create it first, or remove external: true", r.Name)
		}
		p.resources[r.Name] = p.plan.add(&Op{Kind: OpCreate, Resource: ResNetwork, Name: r.Name, Reason: "missing", Network: r.Network}).ID
		return nil
	}
	if !r.changed(p.o.NetworkRecords[r.Name]) {
		return nil
	}
	reason := "config changed"
	if have, ok := p.o.NetworkSpecs[r.Name]; ok {
		want := *r.Network
		// the hashes differ by definition: name what else does
		have.Labels, want.Labels = withoutHash(have.Labels), withoutHash(want.Labels)
		if diff := netspec.Diff(have, want); diff != "" {
			reason = "config changed: " + diff
		}
	}
	// the containers on it go first and come back on the new one: their hosts
	// and resolv.conf name the old addresses and gateway
	removed, err := p.removeAttached(func(c Container) bool { return slices.Contains(c.Networks, r.Name) }, "network "+r.Name+" recreated")
	if err != nil {
		return fmt.Errorf("network %q changed (%s): %w", r.Name, reason, err)
	}
	op := p.plan.add(&Op{Kind: OpRecreate, Resource: ResNetwork, Name: r.Name, Reason: reason, Network: r.Network, Deps: removed})
	p.resources[r.Name] = op.ID
	return nil
}

// changed says whether an existing network or volume was made from another
// definition. One made before berth recorded hashes is left alone, as Docker Compose
// does, and an external one is never berth's to change.
func (r Resource) changed(rec record.Resource) bool {
	return !r.External && rec.Hash != "" && rec.Hash != r.Hash
}

func withoutHash(labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	delete(out, record.LabelHash)
	return out
}

func (p *upPlanner) volumeOp(r Resource) error {
	if !p.o.Volumes[r.Name] {
		if r.External {
			return fmt.Errorf("external volume %q not found: create it first, or remove external: true", r.Name)
		}
		p.resources[r.Name] = p.plan.add(&Op{Kind: OpCreate, Resource: ResVolume, Name: r.Name, Reason: "missing", Volume: r.Volume}).ID
		return nil
	}
	rec := p.o.VolumeRecords[r.Name]
	if !r.changed(rec) {
		return nil
	}
	if !p.opts.Yes {
		return fmt.Errorf("volume %q exists with a different definition (%s): recreating it loses its data; run up with --yes to recreate it, or remove it with berth volume rm", r.Name, volumeDiff(rec, *r.Volume))
	}
	removed, err := p.removeAttached(func(c Container) bool { return p.usesVolume(c.Service, r.Name) }, "volume "+r.Name+" recreated")
	if err != nil {
		return fmt.Errorf("volume %q changed: %w", r.Name, err)
	}
	op := p.plan.add(&Op{Kind: OpRecreate, Resource: ResVolume, Name: r.Name, Reason: "config changed", Volume: r.Volume, Deps: removed})
	p.resources[r.Name] = op.ID
	return nil
}

// volumeDiff names what changed in a volume's definition, as far as its record tells.
func volumeDiff(have record.Resource, want translate.Volume) string {
	wantUser := record.DecodeResource(want.Labels).User
	if !maps.Equal(have.User, wantUser) {
		return "labels"
	}
	return "driver or driver_opts"
}

func (p *upPlanner) usesVolume(service, volume string) bool {
	s, ok := p.services[service]
	return ok && slices.Contains(s.Volumes, volume)
}

// removeAttached plans the removal of the observed service containers that match,
// to be created again by serviceOps; it returns the removal ops. A container of a
// service this up does not handle would be left without its network or volume: that
// is refused.
func (p *upPlanner) removeAttached(match func(Container) bool, reason string) ([]int, error) {
	var ids []int
	for i := range p.o.Containers {
		c := &p.o.Containers[i]
		if c.Oneoff || !match(*c) || p.displaced[c.Name] {
			continue
		}
		if _, ok := p.services[c.Service]; !ok && slices.Contains(p.d.AllServices, c.Service) {
			return nil, fmt.Errorf("container %s of service %q uses it and is not part of this up: run up for the whole project", c.Name, c.Service)
		}
		op := p.plan.add(&Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number, Reason: reason, Old: c})
		p.displaced[c.Name] = true
		p.displacedBy[c.Name] = reason
		ids = append(ids, op.ID)
	}
	return ids, nil
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
			p.createOp(s, n, name, OpCreate, "missing", nil)
		case p.displaced[c.Name]:
			p.createOp(s, n, name, OpCreate, p.displacedBy[c.Name], nil)
		case p.opts.NoRecreate:
		case p.opts.ForceRecreate:
			p.createOp(s, n, name, OpRecreate, "forced", &c)
		case c.ConfigHash != s.Hash:
			p.createOp(s, n, name, OpRecreate, "config changed", &c)
		case s.ImageID != "" && c.ImageID != s.ImageID:
			p.createOp(s, n, name, OpRecreate, "image changed", &c)
		case reason != "":
			p.createOp(s, n, name, OpRecreate, reason, &c)
		}
	}
	// scale down from the highest number, as Docker Compose does
	for i := len(existing) - 1; i >= 0; i-- {
		if c := existing[i]; c.Number > s.Replicas && !p.displaced[c.Name] {
			p.plan.add(&Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: s.Name, Number: c.Number, Reason: "scaled down", Old: &c})
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

func (p *upPlanner) createOp(s DesiredService, n int, name string, kind OpKind, reason string, old *Container) {
	op := &Op{Kind: kind, Resource: ResContainer, Name: name, Service: s.Name, Number: n, Reason: reason, Desired: &s, Old: old}
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
		op := &Op{Kind: OpStart, Resource: ResContainer, Name: s.ContainerNames[n-1], Service: s.Name, Number: n, Desired: &s}
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
	key := service + "/" + kind.String()
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
		if c.Oneoff || slices.Contains(p.d.AllServices, c.Service) || p.displaced[c.Name] {
			continue
		}
		if p.opts.RemoveOrphans {
			p.plan.add(&Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number, Reason: "orphan", Old: &c})
		} else {
			orphans = append(orphans, c.Name)
		}
	}
	if len(orphans) > 0 {
		p.plan.Warnings = append(p.plan.Warnings, fmt.Sprintf(
			"found orphan containers (%s) for this project: if you removed or renamed their service in the compose file, run this command with --remove-orphans to clean them up",
			JoinNames(orphans)))
	}
}

func JoinNames(names []string) string {
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
