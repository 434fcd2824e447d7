package project

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// EdgeKind names the compose key an edge comes from. The reconciler needs it
// because only depends_on carries a user-chosen condition; the other kinds
// only order containers.
type EdgeKind string

const (
	EdgeDependsOn   EdgeKind = "depends_on"
	EdgeLink        EdgeKind = "links"
	EdgeNetworkMode EdgeKind = "network_mode"
	EdgeIPC         EdgeKind = "ipc"
	EdgePID         EdgeKind = "pid"
	EdgeVolumesFrom EdgeKind = "volumes_from"
)

// verb phrases the relation so an error points at the key to fix.
func (k EdgeKind) verb() string {
	switch k {
	case EdgeLink:
		return "links to"
	case EdgeNetworkMode:
		return "uses network_mode of"
	case EdgeIPC:
		return "uses ipc of"
	case EdgePID:
		return "uses pid of"
	case EdgeVolumesFrom:
		return "mounts volumes from"
	default:
		return "depends on"
	}
}

// Edge says that service From needs service To.
//
// For depends_on the fields copy types.ServiceDependency, with an empty
// Condition read as service_started. Note that the zero ServiceDependency
// has Required false: the YAML loader defaults it to true, code that builds
// a project by hand must set it. The other kinds get the values compose-go
// gives their implicit depends_on: service_started, required, and restart
// for everything but volumes_from.
type Edge struct {
	From, To  string
	Kind      EdgeKind
	Condition string
	Required  bool
	Restart   bool
}

// Graph is the validated, acyclic dependency graph of a project's services.
// It is immutable once built; every method returns fresh slices.
type Graph struct {
	services   []string            // sorted
	edges      map[string][]Edge   // by From, sorted by To then Kind
	needs      map[string][]string // distinct To of edges, sorted
	dependents map[string][]string // distinct From of edges into a service, sorted
}

// NewGraph builds the graph of p.Services. It rejects references to services
// that are undefined or disabled by a profile (unless a depends_on says
// required: false, then the edge is dropped) and dependency cycles. The
// loader checks some of this too, but projects are also filtered after
// loading, so the graph cannot rely on it.
func NewGraph(p *types.Project) (*Graph, error) {
	g := &Graph{
		services:   p.ServiceNames(),
		edges:      make(map[string][]Edge),
		needs:      make(map[string][]string),
		dependents: make(map[string][]string),
	}
	var errs []error
	owners := containerOwners(p)
	for _, name := range g.services {
		failed := ""
		for _, e := range serviceEdges(name, p.Services[name], owners) {
			keep, err := resolveEdge(p, e)
			// One error per missing service is enough: the loader's implicit
			// depends_on would otherwise repeat every bad link.
			if err != nil && e.To != failed {
				errs = append(errs, err)
				failed = e.To
			}
			if keep {
				g.add(e)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &Error{File: mainFile(p), Msg: err.Error(), Err: err}
	}
	if cycle := g.findCycle(); cycle != nil {
		return nil, &Error{File: mainFile(p), Msg: "dependency cycle detected: " + strings.Join(cycle, " -> ")}
	}
	return g, nil
}

// add records e. Callers add edges in sorted (From, To) order, which keeps
// needs and dependents sorted without a final sort.
func (g *Graph) add(e Edge) {
	g.edges[e.From] = append(g.edges[e.From], e)
	needs := g.needs[e.From]
	if len(needs) > 0 && needs[len(needs)-1] == e.To {
		return
	}
	g.needs[e.From] = append(needs, e.To)
	g.dependents[e.To] = append(g.dependents[e.To], e.From)
}

// serviceEdges lists the edges svc declares, sorted by To then Kind, without
// duplicates such as "db" and "db:alias" in links. A "container:NAME" that names
// a container of the project (owners) is an edge to its service: berth creates
// containers all at once, and this one needs that one's namespace or volumes.
func serviceEdges(from string, svc types.ServiceConfig, owners map[string]string) []Edge {
	var edges []Edge
	for to, dep := range svc.DependsOn {
		condition := dep.Condition
		if condition == "" {
			condition = types.ServiceConditionStarted
		}
		edges = append(edges, Edge{
			From: from, To: to, Kind: EdgeDependsOn,
			Condition: condition, Required: dep.Required, Restart: dep.Restart,
		})
	}
	for _, link := range svc.Links {
		to, _, _ := strings.Cut(link, ":")
		edges = append(edges, implicitEdge(from, to, EdgeLink))
	}
	namespaces := map[EdgeKind]string{
		EdgeNetworkMode: svc.NetworkMode,
		EdgeIPC:         svc.Ipc,
		EdgePID:         svc.Pid,
	}
	for kind, mode := range namespaces {
		if to, ok := strings.CutPrefix(mode, types.ServicePrefix); ok {
			edges = append(edges, implicitEdge(from, to, kind))
		} else if name, ok := strings.CutPrefix(mode, types.ContainerPrefix); ok {
			if to, ok := ownerOf(owners, name, from); ok {
				edges = append(edges, implicitEdge(from, to, kind))
			}
		}
	}
	for _, source := range svc.VolumesFrom {
		name, fromContainer := strings.CutPrefix(source, types.ContainerPrefix)
		name, _, _ = strings.Cut(name, ":") // its mode, ro or rw
		if !fromContainer {
			edges = append(edges, implicitEdge(from, name, EdgeVolumesFrom))
		} else if to, ok := ownerOf(owners, name, from); ok {
			edges = append(edges, implicitEdge(from, to, EdgeVolumesFrom))
		}
	}
	slices.SortFunc(edges, compareEdges)
	return slices.CompactFunc(edges, func(a, b Edge) bool {
		return a.To == b.To && a.Kind == b.Kind
	})
}

// containerOwners maps the names of the project's service containers to their
// services.
func containerOwners(p *types.Project) map[string]string {
	owners := map[string]string{}
	for name, s := range p.Services {
		for n := 1; n <= max(Replicas(s), 1); n++ {
			owners[ContainerName(p.Name, s, n)] = name
		}
	}
	return owners
}

// ownerOf is the service, other than from, owning the container named name; a
// container outside the project has none.
func ownerOf(owners map[string]string, name, from string) (string, bool) {
	to, ok := owners[name]
	return to, ok && to != from
}

// implicitEdge mirrors the depends_on entry compose-go's normaliser derives
// from the other keys, so hand-built and loaded projects behave alike.
func implicitEdge(from, to string, kind EdgeKind) Edge {
	return Edge{
		From: from, To: to, Kind: kind,
		Condition: types.ServiceConditionStarted,
		Required:  true,
		Restart:   kind != EdgeVolumesFrom,
	}
}

func compareEdges(a, b Edge) int {
	if c := strings.Compare(a.To, b.To); c != 0 {
		return c
	}
	return strings.Compare(string(a.Kind), string(b.Kind))
}

// resolveEdge reports whether e points at an enabled service. An optional
// depends_on on a missing service is dropped without error, as Compose does.
func resolveEdge(p *types.Project, e Edge) (bool, error) {
	if _, ok := p.Services[e.To]; ok {
		return true, nil
	}
	if !e.Required {
		return false, nil
	}
	if disabled, ok := p.DisabledServices[e.To]; ok {
		return false, fmt.Errorf("service %q %s service %q %s",
			e.From, e.Kind.verb(), e.To, disabledByProfile(disabled.Profiles))
	}
	return false, fmt.Errorf("service %q %s undefined service %q", e.From, e.Kind.verb(), e.To)
}

// disabledByProfile names the profiles that would enable the service, since
// turning one of them on is the usual fix.
func disabledByProfile(profiles []string) string {
	quoted := make([]string, len(profiles))
	for i, profile := range profiles {
		quoted[i] = strconv.Quote(profile)
	}
	return strings.TrimSpace("which is disabled by profile " + strings.Join(quoted, " or "))
}

// findCycle returns the first cycle a depth-first search meets, searching
// from services and dependencies in sorted order and rotating the cycle to
// start at its smallest member, so the error text is stable across runs.
// The first member is repeated at the end. It returns nil for an acyclic graph.
func (g *Graph) findCycle() []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(g.services))
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		state[name] = onPath
		path = append(path, name)
		for _, dep := range g.needs[name] {
			switch state[dep] {
			case onPath:
				return rotateCycle(path[slices.Index(path, dep):])
			case unvisited:
				if cycle := visit(dep); cycle != nil {
					return cycle
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, name := range g.services {
		if state[name] != unvisited {
			continue
		}
		if cycle := visit(name); cycle != nil {
			return cycle
		}
	}
	return nil
}

func rotateCycle(cycle []string) []string {
	start := slices.Index(cycle, slices.Min(cycle))
	rotated := make([]string, 0, len(cycle)+1)
	rotated = append(rotated, cycle[start:]...)
	rotated = append(rotated, cycle[:start]...)
	return append(rotated, cycle[start])
}

// Dependencies returns the edges from service, sorted by To then Kind. A
// service that needs another through several keys has one edge per key.
func (g *Graph) Dependencies(service string) []Edge {
	return slices.Clone(g.edges[service])
}

// Dependents returns the services with an edge to service, sorted.
func (g *Graph) Dependents(service string) []string {
	return slices.Clone(g.dependents[service])
}

// StartLevels groups the services into steps: every service's dependencies
// are in earlier steps, so the services of one step may start in parallel.
// Each service sits in the earliest step possible; each step is sorted.
func (g *Graph) StartLevels() [][]string {
	return graphLevels(g.services, g.needs, g.dependents)
}

// StopLevels is StartLevels for stopping: a service stops in the step after
// its last dependent, so services nothing depends on go first.
func (g *Graph) StopLevels() [][]string {
	return graphLevels(g.services, g.dependents, g.needs)
}

// StartOrder is StartLevels flattened: dependencies first, ties by name.
// Sequential and parallel callers thus see the same order.
func (g *Graph) StartOrder() []string {
	return slices.Concat(g.StartLevels()...)
}

// StopOrder is StopLevels flattened: dependents first, ties by name. It is
// a reverse topological order, not always the exact reverse of StartOrder:
// a service with no dependents stops in the first step.
func (g *Graph) StopOrder() []string {
	return slices.Concat(g.StopLevels()...)
}

// graphLevels runs Kahn's algorithm level by level: a service is ready once
// everything in waitFor[service] is placed, and placing a service unblocks
// the services in unblocks[service]. The graph is acyclic, so all are placed.
func graphLevels(services []string, waitFor, unblocks map[string][]string) [][]string {
	pending := make(map[string]int, len(services))
	var ready []string
	for _, name := range services {
		pending[name] = len(waitFor[name])
		if pending[name] == 0 {
			ready = append(ready, name)
		}
	}
	var levels [][]string
	for len(ready) > 0 {
		slices.Sort(ready)
		levels = append(levels, ready)
		var next []string
		for _, name := range ready {
			for _, other := range unblocks[name] {
				pending[other]--
				if pending[other] == 0 {
					next = append(next, other)
				}
			}
		}
		ready = next
	}
	return levels
}

// WithDependencies returns the named services and everything they need,
// directly or not, in start order: what `up web` has to bring up. Names not
// in the graph are ignored; validating them is the caller's job.
func (g *Graph) WithDependencies(services []string) []string {
	return g.closure(services, g.needs)
}

// WithDependents returns the named services and everything that needs them,
// directly or not, in start order: what a restart of db affects. Reverse it
// to stop them. Names not in the graph are ignored.
func (g *Graph) WithDependents(services []string) []string {
	return g.closure(services, g.dependents)
}

func (g *Graph) closure(services []string, next map[string][]string) []string {
	seen := make(map[string]bool)
	var queue []string
	for _, name := range services {
		if _, known := slices.BinarySearch(g.services, name); known && !seen[name] {
			seen[name] = true
			queue = append(queue, name)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, other := range next[name] {
			if !seen[other] {
				seen[other] = true
				queue = append(queue, other)
			}
		}
	}
	return slices.DeleteFunc(g.StartOrder(), func(name string) bool { return !seen[name] })
}

// mainFile is the file graph errors are reported against: the edges may
// come from any of the merged files, the first one names the project.
func mainFile(p *types.Project) string {
	if len(p.ComposeFiles) == 0 || p.ComposeFiles[0] == "-" {
		return ""
	}
	return p.ComposeFiles[0]
}

// NewGraphFromEdges builds the graph of services that exist without their Compose
// file: from the dependencies berth recorded on their containers. Edges to services
// not listed are dropped (a dependency without containers has nothing to order), and
// so is every edge of a cycle, which berth never records but another tool might:
// up, down, stop, start and restart then order by one graph either way.
func NewGraphFromEdges(services []string, edges []Edge) *Graph {
	g := &Graph{
		services:   slices.Sorted(slices.Values(services)),
		edges:      make(map[string][]Edge),
		needs:      make(map[string][]string),
		dependents: make(map[string][]string),
	}
	g.services = slices.Compact(g.services)
	edges = slices.Clone(edges)
	slices.SortFunc(edges, func(a, b Edge) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		return compareEdges(a, b)
	})
	for _, e := range edges {
		_, from := slices.BinarySearch(g.services, e.From)
		_, to := slices.BinarySearch(g.services, e.To)
		if from && to && e.From != e.To {
			g.add(e)
		}
	}
	if g.findCycle() != nil {
		return NewGraphFromEdges(services, nil)
	}
	return g
}
