package translate

import (
	"reflect"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/project"
)

func TestDeps(t *testing.T) {
	started, healthy, completed := types.ServiceConditionStarted, types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	dep := func(condition string, restart, required bool) types.ServiceDependency {
		return types.ServiceDependency{Condition: condition, Restart: restart, Required: required}
	}
	tests := []struct {
		name string
		app  types.ServiceConfig
		want []record.Dep
	}{
		{name: "none"},
		{
			name: "depends_on started",
			app:  types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{DependsOn: types.DependsOnConfig{"db": dep(started, false, true)}}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true}},
		},
		{
			name: "depends_on without condition is started",
			app:  types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{DependsOn: types.DependsOnConfig{"db": dep("", false, true)}}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true}},
		},
		{
			name: "depends_on conditions, restart, required, sorted",
			app: types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{DependsOn: types.DependsOnConfig{
				"db": dep(healthy, true, true), "cache": dep(started, false, false), "init": dep(completed, false, true),
			}}},
			want: []record.Dep{
				{Service: "cache", Condition: started},
				{Service: "db", Condition: healthy, Restart: true, Required: true},
				{Service: "init", Condition: completed, Required: true},
			},
		},
		{
			name: "network_mode service: marks Namespace",
			app:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{NetworkMode: "service:db"}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true, Namespace: true}},
		},
		{
			name: "ipc service:",
			app:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{Ipc: "service:db"}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true, Namespace: true}},
		},
		{
			name: "pid service:",
			app:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{Pid: "service:db"}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true, Namespace: true}},
		},
		{
			name: "volumes_from",
			app:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{VolumesFrom: []string{"db:ro", "container:outside"}}},
			want: []record.Dep{{Service: "db", Condition: started, Required: true, Namespace: true}},
		},
		{
			name: "host and none modes are not edges",
			app:  types.ServiceConfig{ContainerSpec: types.ContainerSpec{NetworkMode: "host", Ipc: "shareable", Pid: "host"}},
		},
		{
			name: "several keys fold to one dependency",
			app: types.ServiceConfig{
				Links:         []string{"db"},
				WorkloadSpec:  types.WorkloadSpec{DependsOn: types.DependsOnConfig{"db": dep(healthy, true, true)}},
				ContainerSpec: types.ContainerSpec{NetworkMode: "service:db", Ipc: "service:db", VolumesFrom: []string{"db"}},
			},
			want: []record.Dep{{Service: "db", Condition: healthy, Restart: true, Required: true, Namespace: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.app.Name = "app"
			services := types.Services{"app": tt.app}
			for _, name := range []string{"db", "cache", "init"} {
				services[name] = types.ServiceConfig{Name: name}
			}
			g, err := project.NewGraph(&types.Project{Name: "proj", Services: services})
			if err != nil {
				t.Fatal(err)
			}
			if got := Deps(g, "app"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Deps\n%+v\nwant\n%+v", got, tt.want)
			}
			if got := Deps(g, "db"); got != nil {
				t.Errorf("Deps of a service without dependencies = %+v", got)
			}
		})
	}
}

// TestDepsFold checks the folding of several depends_on edges to one
// service, which a graph made from recorded labels can have.
func TestDepsFold(t *testing.T) {
	e := func(condition string, restart, required bool) project.Edge {
		return project.Edge{From: "app", To: "db", Kind: project.EdgeDependsOn, Condition: condition, Restart: restart, Required: required}
	}
	started, healthy, completed := record.ConditionStarted, record.ConditionHealthy, record.ConditionCompleted
	tests := []struct {
		name  string
		edges []project.Edge
		want  record.Dep
	}{
		{name: "healthy over started", edges: []project.Edge{e(started, false, true), e(healthy, false, true)}, want: record.Dep{Service: "db", Condition: healthy, Required: true}},
		{name: "completed over healthy", edges: []project.Edge{e(healthy, false, true), e(completed, false, true)}, want: record.Dep{Service: "db", Condition: completed, Required: true}},
		{name: "empty condition is started", edges: []project.Edge{e("", false, true)}, want: record.Dep{Service: "db", Condition: started, Required: true}},
		{name: "restart OR-ed", edges: []project.Edge{e(started, false, true), e(started, true, true)}, want: record.Dep{Service: "db", Condition: started, Restart: true, Required: true}},
		{name: "required OR-ed", edges: []project.Edge{e(started, false, false), e(started, false, true)}, want: record.Dep{Service: "db", Condition: started, Required: true}},
		{name: "optional", edges: []project.Edge{e(healthy, false, false)}, want: record.Dep{Service: "db", Condition: healthy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reversed := slices.Clone(tt.edges)
			slices.Reverse(reversed)
			for _, edges := range [][]project.Edge{tt.edges, reversed} {
				g := project.NewGraphFromEdges([]string{"app", "db"}, edges)
				got := Deps(g, "app")
				if !reflect.DeepEqual(got, []record.Dep{tt.want}) {
					t.Errorf("edges %+v: Deps = %+v, want [%+v]", edges, got, tt.want)
				}
			}
		})
	}
}
