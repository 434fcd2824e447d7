// Package service reconciles a project with containerd: it observes the
// containers that carry the project's labels, plans the operations that
// turn them into what the model wants (a pure function, tested without a
// daemon), and executes that plan along the dependency graph.
package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/network/netspec"
)

// OpKind is what one step of a plan does.
type OpKind int

// The operations a plan is made of.
const (
	OpCreate OpKind = iota + 1
	OpRecreate
	OpStart
	OpStop
	OpRemove
	OpWaitHealthy
	OpWaitCompleted
	OpWaitRunning
	OpRestart
	OpKill
	OpPause
	OpUnpause
)

var opKindNames = [...]string{
	OpCreate: "create", OpRecreate: "recreate", OpStart: "start", OpStop: "stop", OpRemove: "remove",
	OpWaitHealthy: "wait-healthy", OpWaitCompleted: "wait-completed", OpWaitRunning: "wait-running",
	OpRestart: "restart", OpKill: "kill", OpPause: "pause", OpUnpause: "unpause",
}

func (k OpKind) String() string {
	if k > 0 && int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// ResKind is what an op acts on.
type ResKind int

// Resource kinds an Op acts on.
const (
	ResNetwork ResKind = iota + 1
	ResVolume
	ResContainer
	ResService
)

func (r ResKind) String() string {
	switch r {
	case ResNetwork:
		return "network"
	case ResVolume:
		return "volume"
	case ResContainer:
		return "container"
	case ResService:
		return "service"
	}
	return fmt.Sprintf("ResKind(%d)", int(r))
}

// Op is one step of a plan. It runs once every op in Deps has succeeded.
// It carries what it acts on, computed once when it was planned: the
// executor looks nothing up by name.
type Op struct {
	ID       int
	Kind     OpKind
	Resource ResKind
	Name     string // container, network or volume name; service name for waits
	Service  string
	Number   int
	Reason   string
	Deps     []int

	// Network is the spec of a network to create.
	Network *netspec.Spec
	// Volume is the spec of a volume to create.
	Volume *translate.Volume
	// Desired is the service a container op creates, recreates or starts.
	Desired *DesiredService
	// Old is the observed container an op recreates, stops or removes.
	Old *Container
}

func (o *Op) String() string {
	deps := make([]string, len(o.Deps))
	for i, d := range o.Deps {
		deps[i] = fmt.Sprintf("#%d", d)
	}
	s := fmt.Sprintf("[%s] -> #%d %s:%s %s", strings.Join(deps, " "), o.ID, o.Resource, o.Name, o.Kind)
	if o.Reason != "" {
		s += " (" + o.Reason + ")"
	}
	return s
}

// Plan is a graph of operations.
type Plan struct {
	Ops      []*Op
	Warnings []string
	// Builds are the services whose images up builds before the ops (a dry
	// run only names them: a rebuilt image may then recreate its service).
	Builds []string
}

// String is the plan's text form, one op per line; tests assert it and
// --dry-run prints it.
func (p *Plan) String() string {
	var b strings.Builder
	for _, op := range p.Ops {
		b.WriteString(op.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Empty says whether the plan changes nothing.
func (p *Plan) Empty() bool {
	for _, op := range p.Ops {
		if !IsWait(op.Kind) {
			return false
		}
	}
	return true
}

func IsWait(k OpKind) bool {
	return k == OpWaitHealthy || k == OpWaitCompleted || k == OpWaitRunning
}

// Creates says whether the plan creates or recreates a container.
func (p *Plan) Creates() bool {
	return slices.ContainsFunc(p.Ops, func(op *Op) bool {
		return op.Resource == ResContainer && (op.Kind == OpCreate || op.Kind == OpRecreate)
	})
}

func (p *Plan) add(op *Op) *Op {
	op.ID = len(p.Ops) + 1
	slices.Sort(op.Deps)
	op.Deps = slices.Compact(op.Deps)
	p.Ops = append(p.Ops, op)
	return op
}

// Dep is a service's dependency as the reconciler needs it (what berth
// records on the container, so down orders without the Compose file).
type Dep = record.Dep

// Condition values of depends_on.
const (
	ConditionStarted   = record.ConditionStarted
	ConditionHealthy   = record.ConditionHealthy
	ConditionCompleted = record.ConditionCompleted
)

// DesiredService is a service as the model wants it.
type DesiredService struct {
	Name string
	// Config is the service as the model has it.
	Config         types.ServiceConfig
	Replicas       int
	ContainerNames []string // index i is replica i+1
	Hash           string
	ImageID        string
	Networks       []string
	Volumes        []string
	Deps           []Dep
	HasHealthcheck bool
}

// Resource is a network or a volume the project uses.
type Resource struct {
	Name     string
	External bool
	// Hash is the hash of its Compose definition.
	Hash string
	// Network and Volume are the translated specs (one of them).
	Network *netspec.Spec
	Volume  *translate.Volume
}

// Desired is the whole model the planner works from; Services are in start
// order and hold only the services `up` was asked for (and their deps).
type Desired struct {
	Project  string
	Services []DesiredService
	// AllServices names every service of the project, selected or not,
	// enabled or not: containers of other services are orphans.
	AllServices []string
	Networks    []Resource
	Volumes     []Resource
	// Warnings name what the translation could not honour.
	Warnings []string
}

// Observed is what exists now.
type Observed struct {
	Containers []Container
	Networks   map[string]bool
	Volumes    map[string]bool
	// NetworkRecords and VolumeRecords are what berth recorded on the project's
	// networks and volumes (their definition's hash, empty on those made before
	// berth recorded one); NetworkSpecs how each network was made.
	NetworkRecords map[string]record.Resource
	VolumeRecords  map[string]record.Resource
	NetworkSpecs   map[string]netspec.Spec
}

// UpOptions are up's flags that change the plan.
type UpOptions struct {
	ForceRecreate      bool
	NoRecreate         bool
	AlwaysRecreateDeps bool
	RemoveOrphans      bool
	NoStart            bool
	Wait               bool
	// Yes accepts recreating a volume whose definition changed (its data is lost).
	Yes bool
	// RenewAnonVolumes gives recreated containers new anonymous volumes instead of
	// their predecessors' (up -V).
	RenewAnonVolumes bool
}

// containersOf returns the observed service containers of a service,
// one-offs excluded, by number.
func (o Observed) containersOf(service string) []Container {
	var out []Container
	for _, c := range o.Containers {
		if c.Service == service && !c.Oneoff {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Recreates says whether the plan replaces a container of the service.
func (p *Plan) Recreates(service string) bool {
	return slices.ContainsFunc(p.Ops, func(op *Op) bool {
		return op.Kind == OpRecreate && op.Resource == ResContainer && op.Service == service
	})
}
