package service

import (
	"slices"

	"github.com/berth-dev/berth/project"
)

// DownOptions are down's flags that change the plan.
type DownOptions struct {
	// Services, when set, are the services the Compose file defines: other
	// containers are orphans, removed only with RemoveOrphans. Without a
	// Compose file every container of the project goes.
	Services      []string
	RemoveOrphans bool
	// Networks and Volumes are the project's resources to remove after its
	// containers (volumes only with -v; never external ones).
	Networks []string
	Volumes  []string
}

// PlanDown stops and removes the project's containers, dependents before
// their dependencies, then its networks and volumes. Stops of independent
// services run in parallel: a slow stop never delays an unrelated one.
func PlanDown(o Observed, opts DownOptions) *Plan {
	plan := &Plan{}
	var selected []Container
	for _, c := range o.Containers {
		if opts.Services == nil || c.Oneoff || opts.RemoveOrphans || slices.Contains(opts.Services, c.Service) {
			selected = append(selected, c)
		}
	}
	dependents := map[string][]string{}
	for _, c := range selected {
		for _, d := range depsFromLabel(c.Labels[project.LabelDependsOn]) {
			if !slices.Contains(dependents[d.Service], c.Service) {
				dependents[d.Service] = append(dependents[d.Service], c.Service)
			}
		}
	}
	removeOps := map[string][]int{}
	var all []int
	// a dependency's removal waits for its dependents', so walk services
	// from dependents down: order ops by the longest chain above them
	for _, c := range sortByDependents(selected, dependents) {
		op := &Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number}
		for _, dependent := range dependents[c.Service] {
			op.Deps = append(op.Deps, removeOps[dependent]...)
		}
		plan.add(op)
		removeOps[c.Service] = append(removeOps[c.Service], op.ID)
		all = append(all, op.ID)
	}
	for _, n := range opts.Networks {
		if o.Networks[n] {
			plan.add(&Op{Kind: OpRemove, Resource: ResNetwork, Name: n, Deps: slices.Clone(all)})
		}
	}
	for _, v := range opts.Volumes {
		if o.Volumes[v] {
			plan.add(&Op{Kind: OpRemove, Resource: ResVolume, Name: v, Deps: slices.Clone(all)})
		}
	}
	return plan
}

// sortByDependents orders containers so that every service comes after all
// services that depend on it (cycles, impossible in a loaded project, are
// broken by name), then by name.
func sortByDependents(cs []Container, dependents map[string][]string) []Container {
	depth := map[string]int{}
	var visit func(s string, seen map[string]bool) int
	visit = func(s string, seen map[string]bool) int {
		if d, ok := depth[s]; ok {
			return d
		}
		if seen[s] {
			return 0
		}
		seen[s] = true
		d := 0
		for _, dep := range dependents[s] {
			d = max(d, visit(dep, seen)+1)
		}
		depth[s] = d
		return d
	}
	for _, c := range cs {
		visit(c.Service, map[string]bool{})
	}
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Container) int {
		if depth[a.Service] != depth[b.Service] {
			return depth[a.Service] - depth[b.Service]
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
