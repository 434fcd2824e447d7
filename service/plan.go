// Package service reconciles a project with containerd: it observes the
// containers that carry the project's labels, plans the operations that
// turn them into what the model wants (a pure function, tested without a
// daemon), and executes that plan along the dependency graph.
package service

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// OpKind is what one step of a plan does.
type OpKind string

// The operations a plan is made of.
const (
	OpCreateNetwork OpKind = "create"
	OpCreateVolume  OpKind = "create"
	OpCreate        OpKind = "create"
	OpRecreate      OpKind = "recreate"
	OpStart         OpKind = "start"
	OpStop          OpKind = "stop"
	OpRemove        OpKind = "remove"
	OpWaitHealthy   OpKind = "wait-healthy"
	OpWaitCompleted OpKind = "wait-completed"
	OpWaitRunning   OpKind = "wait-running"
)

// Resource kinds an Op acts on.
const (
	ResNetwork   = "network"
	ResVolume    = "volume"
	ResContainer = "container"
	ResService   = "service"
)

// Op is one step of a plan. It runs once every op in Deps has succeeded.
type Op struct {
	ID       int
	Kind     OpKind
	Resource string
	Name     string // container, network or volume name; service name for waits
	Service  string
	Number   int
	Reason   string
	Deps     []int
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
		if !isWait(op.Kind) {
			return false
		}
	}
	return true
}

func isWait(k OpKind) bool {
	return k == OpWaitHealthy || k == OpWaitCompleted || k == OpWaitRunning
}

func (p *Plan) add(op *Op) *Op {
	op.ID = len(p.Ops) + 1
	slices.Sort(op.Deps)
	op.Deps = slices.Compact(op.Deps)
	p.Ops = append(p.Ops, op)
	return op
}

// Dep is a service's dependency as the reconciler needs it.
type Dep struct {
	Service   string
	Condition string // service_started, service_healthy, service_completed_successfully
	Restart   bool
	Required  bool
	// Namespace is set for network_mode/ipc/pid service:X and volumes_from:
	// the dependent needs the dependency's container to exist.
	Namespace bool
}

// Condition values of depends_on.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// DesiredService is a service as the model wants it.
type DesiredService struct {
	Name           string
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
}

// Observed is what exists now.
type Observed struct {
	Containers []Container
	Networks   map[string]bool
	Volumes    map[string]bool
}

// UpOptions are up's flags that change the plan.
type UpOptions struct {
	ForceRecreate      bool
	NoRecreate         bool
	AlwaysRecreateDeps bool
	RemoveOrphans      bool
	NoStart            bool
	Wait               bool
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
