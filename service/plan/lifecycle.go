package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/project"
)

// PlanStop stops the services' containers and keeps them: dependents
// before their dependencies (through services left out of the selection
// too), independent services in parallel.
func PlanStop(o Observed, services []string) *Plan {
	plan := &Plan{}
	addStops(plan, o, selectContainers(o, services, nil))
	return plan
}

// addStops adds a stop op per container and returns their IDs by name.
func addStops(plan *Plan, o Observed, cs []Container) map[string]int {
	g := o.graph()
	byService := map[string][]int{}
	byName := map[string]int{}
	for _, c := range stopOrder(g, cs) {
		op := &Op{Kind: OpStop, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number, Old: &c}
		for _, d := range g.WithDependents([]string{c.Service}) {
			op.Deps = append(op.Deps, byService[d]...)
		}
		plan.add(op)
		byService[c.Service] = append(byService[c.Service], op.ID)
		byName[c.Name] = op.ID
	}
	return byName
}

// PlanStart starts the services' stopped containers and those of their
// dependencies, dependencies first; a dependent waits for the condition
// its depends_on names (healthy, completed successfully).
func PlanStart(o Observed, services []string) (*Plan, error) {
	g := o.graph()
	selected := g.WithDependencies(serviceNames(o, services))
	for _, svc := range services {
		if !slices.Contains(selected, svc) {
			selected = append(selected, svc) // no container: refused below
		}
	}
	plan := &Plan{}
	started := map[string][]int{}
	waits := map[string]int{}
	for _, svc := range selected {
		cs := o.containersOf(svc)
		if len(cs) == 0 {
			return nil, fmt.Errorf("service %q has no container to start", svc)
		}
		var ops []*Op
		for _, c := range cs {
			if !IsUp(c) {
				ops = append(ops, &Op{Kind: OpStart, Resource: ResContainer, Name: c.Name, Service: svc, Number: c.Number})
			}
		}
		if len(ops) == 0 {
			continue // nothing starts, so no condition needs waiting for
		}
		var gate []int
		for _, d := range translate.Deps(g, svc) {
			gate = append(gate, started[d.Service]...)
			if kind := waitKind(d.Condition); kind != 0 {
				key := d.Service + "/" + kind.String()
				if _, ok := waits[key]; !ok {
					waits[key] = plan.add(&Op{Kind: kind, Resource: ResService, Name: d.Service, Service: d.Service, Deps: slices.Clone(started[d.Service])}).ID
				}
				gate = append(gate, waits[key])
			}
		}
		for _, op := range ops {
			op.Deps = slices.Clone(gate)
			plan.add(op)
			started[svc] = append(started[svc], op.ID)
		}
	}
	return plan, nil
}

func waitKind(condition string) OpKind {
	switch condition {
	case ConditionHealthy:
		return OpWaitHealthy
	case ConditionCompleted:
		return OpWaitCompleted
	}
	return 0
}

// PlanRestart restarts the services' containers, whatever their state,
// with the dependents that declared depends_on.<svc>.restart: true (unless
// noDeps); along those edges dependencies restart first.
func PlanRestart(o Observed, services []string, noDeps bool) *Plan {
	// only the edges that asked for it: depends_on.<svc>.restart: true
	g := o.graphOf(func(d Dep) bool { return d.Restart })
	selected := serviceNames(o, services)
	if len(services) > 0 && !noDeps {
		selected = g.WithDependents(selected)
	} else {
		selected = g.WithDependencies(selected)
		selected = slices.DeleteFunc(selected, func(s string) bool { return len(services) > 0 && !slices.Contains(services, s) })
	}
	plan := &Plan{}
	restarted := map[string][]int{}
	for _, svc := range selected {
		var gate []int
		for _, e := range g.Dependencies(svc) {
			gate = append(gate, restarted[e.To]...)
		}
		for _, c := range o.containersOf(svc) {
			op := plan.add(&Op{Kind: OpRestart, Resource: ResContainer, Name: c.Name, Service: svc, Number: c.Number, Deps: slices.Clone(gate)})
			restarted[svc] = append(restarted[svc], op.ID)
		}
	}
	return plan
}

// PlanEach gives every selected container in a state that filter accepts
// one independent op: kill, pause and unpause run all at once.
func PlanEach(o Observed, services []string, kind OpKind, filter func(Container) bool) *Plan {
	plan := &Plan{}
	for _, c := range selectContainers(o, services, filter) {
		plan.add(&Op{Kind: kind, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number})
	}
	return plan
}

// PlanRemove removes the services' stopped containers; with stop, running
// ones are stopped first (in stop order) and removed too.
func PlanRemove(o Observed, services []string, stop bool) *Plan {
	plan := &Plan{}
	var toStop []Container
	if stop {
		toStop = selectContainers(o, services, IsUp)
	}
	stops := addStops(plan, o, toStop)
	for _, c := range selectContainers(o, services, nil) {
		id, stopping := stops[c.Name]
		if IsUp(c) && !stopping {
			continue
		}
		op := &Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number}
		if stopping {
			op.Deps = []int{id}
		}
		plan.add(op)
	}
	return plan
}

// IsUp says whether the container has a live task, paused or not.
func IsUp(c Container) bool { return c.State == StateRunning || c.State == StatePaused }

// selectContainers returns the service containers (one-offs excluded) of
// the services, all services when none is named, that filter accepts.
func selectContainers(o Observed, services []string, filter func(Container) bool) []Container {
	var out []Container
	for _, c := range o.Containers {
		if c.Oneoff || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		if filter == nil || filter(c) {
			out = append(out, c)
		}
	}
	return out
}

// serviceNames is services, or every service that has a container.
func serviceNames(o Observed, services []string) []string {
	if len(services) > 0 {
		return slices.Clone(services)
	}
	var out []string
	for _, c := range o.Containers {
		if !c.Oneoff && !slices.Contains(out, c.Service) {
			out = append(out, c.Service)
		}
	}
	sort.Strings(out)
	return out
}

// graph is the dependency graph of the observed services, from what berth recorded
// on their containers: the same graph type up builds from the Compose file.
func (o Observed) graph() *project.Graph { return o.graphOf(nil) }

// graphOf is graph with only the dependencies keep accepts (all when nil).
func (o Observed) graphOf(keep func(Dep) bool) *project.Graph {
	var services []string
	var edges []project.Edge
	seen := map[string]bool{}
	for _, c := range o.Containers {
		if c.Oneoff || seen[c.Service] {
			continue
		}
		seen[c.Service] = true
		services = append(services, c.Service)
		for _, d := range c.DependsOn {
			if keep == nil || keep(d) {
				edges = append(edges, project.Edge{From: c.Service, To: d.Service, Kind: project.EdgeDependsOn,
					Condition: d.Condition, Required: d.Required, Restart: d.Restart})
			}
		}
	}
	return project.NewGraphFromEdges(services, edges)
}

// stopOrder sorts containers as the graph stops their services: dependents first,
// then by name.
func stopOrder(g *project.Graph, cs []Container) []Container {
	rank := map[string]int{}
	for i, level := range g.StopLevels() {
		for _, svc := range level {
			rank[svc] = i
		}
	}
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Container) int {
		if rank[a.Service] != rank[b.Service] {
			return rank[a.Service] - rank[b.Service]
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
