package translate

import (
	"slices"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/project"
)

// Deps folds the graph's edges to one Dep per dependency: the
// strictest condition wins, and any namespace-sharing edge marks it.
func Deps(g *project.Graph, service string) []record.Dep {
	var deps []record.Dep
	for _, e := range g.Dependencies(service) {
		i := slices.IndexFunc(deps, func(d record.Dep) bool { return d.Service == e.To })
		if i < 0 {
			deps = append(deps, record.Dep{Service: e.To, Condition: record.ConditionStarted, Required: e.Required})
			i = len(deps) - 1
		}
		d := &deps[i]
		switch e.Kind {
		case project.EdgeDependsOn:
			if e.Condition != "" && conditionRank(e.Condition) > conditionRank(d.Condition) {
				d.Condition = e.Condition
			}
			d.Restart = d.Restart || e.Restart
			d.Required = d.Required || e.Required
		case project.EdgeNetworkMode, project.EdgeIPC, project.EdgePID, project.EdgeVolumesFrom:
			d.Namespace = true
		}
	}
	return deps
}

func conditionRank(c string) int {
	switch c {
	case record.ConditionHealthy:
		return 1
	case record.ConditionCompleted:
		return 2
	}
	return 0
}
