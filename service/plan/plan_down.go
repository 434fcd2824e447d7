package plan

import (
	"slices"
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
	g := Observed{Containers: selected}.graph()
	removeOps := map[string][]int{}
	var all []int
	// a dependency's removal waits for its dependents', so walk services
	// from dependents down
	for _, c := range stopOrder(g, selected) {
		op := &Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number, Old: &c}
		for _, dependent := range g.Dependents(c.Service) {
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
