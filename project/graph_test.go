package project

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// graphDeps is the depends_on a user writes as a plain list: required,
// service_started.
func graphDeps(names ...string) types.DependsOnConfig {
	config := types.DependsOnConfig{}
	for _, name := range names {
		config[name] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
	}
	return config
}

// graphService is the part of a service the graph reads. compose-go promotes
// most of these fields from embedded structs, which a composite literal of
// types.ServiceConfig cannot name.
type graphService struct {
	dependsOn   types.DependsOnConfig
	links       []string
	networkMode string
	ipc, pid    string
	volumesFrom []string
	profiles    []string
	container   string // container_name
}

func graphServices(specs map[string]graphService) types.Services {
	services := types.Services{}
	for name, spec := range specs {
		config := types.ServiceConfig{Name: name, Profiles: spec.profiles, Links: spec.links}
		config.DependsOn = spec.dependsOn
		config.NetworkMode = spec.networkMode
		config.Ipc = spec.ipc
		config.Pid = spec.pid
		config.VolumesFrom = spec.volumesFrom
		config.ContainerName = spec.container
		services[name] = config
	}
	return services
}

// graphProject builds a project from service name to depends_on list, which
// is all most graph tests need.
func graphProject(needs map[string][]string) *types.Project {
	specs := map[string]graphService{}
	for name, deps := range needs {
		specs[name] = graphService{dependsOn: graphDeps(deps...)}
	}
	return &types.Project{Name: "test", Services: graphServices(specs)}
}

func mustGraph(t testing.TB, p *types.Project) *Graph {
	t.Helper()
	g, err := NewGraph(p)
	if err != nil {
		t.Fatalf("NewGraph: %v", err)
	}
	return g
}

func TestGraphOrders(t *testing.T) {
	tests := []struct {
		name        string
		services    map[string][]string
		startLevels [][]string
		stopLevels  [][]string
		startOrder  []string
		stopOrder   []string
	}{
		{
			name:     "empty",
			services: map[string][]string{},
		},
		{
			name:        "independent services are one level sorted by name",
			services:    map[string][]string{"web": nil, "api": nil, "db": nil},
			startLevels: [][]string{{"api", "db", "web"}},
			stopLevels:  [][]string{{"api", "db", "web"}},
			startOrder:  []string{"api", "db", "web"},
			stopOrder:   []string{"api", "db", "web"},
		},
		{
			name:        "chain",
			services:    map[string][]string{"web": {"api"}, "api": {"db"}, "db": nil},
			startLevels: [][]string{{"db"}, {"api"}, {"web"}},
			stopLevels:  [][]string{{"web"}, {"api"}, {"db"}},
			startOrder:  []string{"db", "api", "web"},
			stopOrder:   []string{"web", "api", "db"},
		},
		{
			name:        "diamond",
			services:    map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": nil},
			startLevels: [][]string{{"d"}, {"b", "c"}, {"a"}},
			stopLevels:  [][]string{{"a"}, {"b", "c"}, {"d"}},
			startOrder:  []string{"d", "b", "c", "a"},
			stopOrder:   []string{"a", "b", "c", "d"},
		},
		{
			// A service waits for its slowest dependency, and stops as soon
			// as nothing needs it any more.
			name: "uneven depths",
			services: map[string][]string{
				"web": {"api", "cache"}, "api": {"db"}, "db": nil, "cache": nil, "batch": nil,
			},
			startLevels: [][]string{{"batch", "cache", "db"}, {"api"}, {"web"}},
			stopLevels:  [][]string{{"batch", "web"}, {"api", "cache"}, {"db"}},
			startOrder:  []string{"batch", "cache", "db", "api", "web"},
			stopOrder:   []string{"batch", "web", "api", "cache", "db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGraph(t, graphProject(tt.services))
			assertGraphEqual(t, "StartLevels", g.StartLevels(), tt.startLevels)
			assertGraphEqual(t, "StopLevels", g.StopLevels(), tt.stopLevels)
			assertGraphEqual(t, "StartOrder", g.StartOrder(), tt.startOrder)
			assertGraphEqual(t, "StopOrder", g.StopOrder(), tt.stopOrder)
		})
	}
}

func TestGraphEdgeKinds(t *testing.T) {
	p := &types.Project{Services: graphServices(map[string]graphService{
		"web": {
			dependsOn: types.DependsOnConfig{
				"db":  {Condition: types.ServiceConditionHealthy, Required: true, Restart: true},
				"mig": {Condition: types.ServiceConditionCompletedSuccessfully, Required: true},
				"opt": {Required: false},
			},
			links:       []string{"cache:redis", "cache", "api"},
			networkMode: "service:vpn",
			ipc:         "service:shm",
			pid:         "host",
			volumesFrom: []string{"data:ro", "data", "container:outside"},
		},
		"shm": {pid: "service:vpn"},
		"db":  {}, "mig": {}, "opt": {}, "cache": {}, "api": {}, "vpn": {}, "data": {},
	})}
	g := mustGraph(t, p)

	started := types.ServiceConditionStarted
	want := []Edge{
		{From: "web", To: "api", Kind: EdgeLink, Condition: started, Required: true, Restart: true},
		{From: "web", To: "cache", Kind: EdgeLink, Condition: started, Required: true, Restart: true},
		{From: "web", To: "data", Kind: EdgeVolumesFrom, Condition: started, Required: true},
		{From: "web", To: "db", Kind: EdgeDependsOn, Condition: types.ServiceConditionHealthy, Required: true, Restart: true},
		{From: "web", To: "mig", Kind: EdgeDependsOn, Condition: types.ServiceConditionCompletedSuccessfully, Required: true},
		{From: "web", To: "opt", Kind: EdgeDependsOn, Condition: started},
		{From: "web", To: "shm", Kind: EdgeIPC, Condition: started, Required: true, Restart: true},
		{From: "web", To: "vpn", Kind: EdgeNetworkMode, Condition: started, Required: true, Restart: true},
	}
	assertGraphEqual(t, "Dependencies(web)", g.Dependencies("web"), want)
	assertGraphEqual(t, "Dependencies(shm)", g.Dependencies("shm"), []Edge{
		{From: "shm", To: "vpn", Kind: EdgePID, Condition: started, Required: true, Restart: true},
	})
	assertGraphEqual(t, "Dependents(vpn)", g.Dependents("vpn"), []string{"shm", "web"})
	assertGraphEqual(t, "Dependents(web)", g.Dependents("web"), []string(nil))
	assertGraphEqual(t, "StartLevels", g.StartLevels(), [][]string{
		{"api", "cache", "data", "db", "mig", "opt", "vpn"}, {"shm"}, {"web"},
	})
}

// "container:NAME" naming one of the project's containers (by its generated
// name or its container_name) is an edge to that container's service; other
// names are containers outside the project.
func TestGraphContainerReferences(t *testing.T) {
	p := &types.Project{Name: "shop", Services: graphServices(map[string]graphService{
		"web":   {},
		"proxy": {container: "edge"},
		"side":  {networkMode: "container:shop-web-1"},
		"spy":   {pid: "container:edge", volumesFrom: []string{"container:shop-web-1:ro", "container:outsider"}},
		"ext":   {networkMode: "container:outsider"},
		"self":  {ipc: "container:shop-self-1"},
	})}
	g := mustGraph(t, p)
	started := types.ServiceConditionStarted
	assertGraphEqual(t, "Dependencies(side)", g.Dependencies("side"), []Edge{
		{From: "side", To: "web", Kind: EdgeNetworkMode, Condition: started, Required: true, Restart: true},
	})
	assertGraphEqual(t, "Dependencies(spy)", g.Dependencies("spy"), []Edge{
		{From: "spy", To: "proxy", Kind: EdgePID, Condition: started, Required: true, Restart: true},
		{From: "spy", To: "web", Kind: EdgeVolumesFrom, Condition: started, Required: true},
	})
	assertGraphEqual(t, "Dependencies(ext)", g.Dependencies("ext"), []Edge(nil))
	assertGraphEqual(t, "Dependencies(self)", g.Dependencies("self"), []Edge(nil))
}

// The loader turns links into an implicit depends_on too; both edges are kept
// but the service is ordered and counted once.
func TestGraphSameDependencyThroughSeveralKeys(t *testing.T) {
	p := &types.Project{Services: graphServices(map[string]graphService{
		"web": {dependsOn: graphDeps("db"), links: []string{"db:database"}, volumesFrom: []string{"db"}},
		"db":  {},
	})}
	g := mustGraph(t, p)
	var kinds []EdgeKind
	for _, e := range g.Dependencies("web") {
		kinds = append(kinds, e.Kind)
	}
	assertGraphEqual(t, "kinds", kinds, []EdgeKind{EdgeDependsOn, EdgeLink, EdgeVolumesFrom})
	assertGraphEqual(t, "Dependents(db)", g.Dependents("db"), []string{"web"})
	assertGraphEqual(t, "StopLevels", g.StopLevels(), [][]string{{"web"}, {"db"}})
}

func TestGraphCycles(t *testing.T) {
	tests := []struct {
		name     string
		services map[string]graphService
		want     string
	}{
		{
			name:     "self",
			services: map[string]graphService{"alpha": {dependsOn: graphDeps("alpha")}},
			want:     "dependency cycle detected: alpha -> alpha",
		},
		{
			name: "two",
			services: map[string]graphService{
				"beta": {dependsOn: graphDeps("alpha")}, "alpha": {dependsOn: graphDeps("beta")},
			},
			want: "dependency cycle detected: alpha -> beta -> alpha",
		},
		{
			name: "three",
			services: map[string]graphService{
				"alpha": {dependsOn: graphDeps("beta")},
				"beta":  {dependsOn: graphDeps("gamma")},
				"gamma": {dependsOn: graphDeps("alpha")},
			},
			want: "dependency cycle detected: alpha -> beta -> gamma -> alpha",
		},
		{
			name: "three the other way round",
			services: map[string]graphService{
				"alpha": {dependsOn: graphDeps("gamma")},
				"gamma": {dependsOn: graphDeps("beta")},
				"beta":  {dependsOn: graphDeps("alpha")},
			},
			want: "dependency cycle detected: alpha -> gamma -> beta -> alpha",
		},
		{
			// The search enters at app, but the message starts at the
			// cycle's smallest member.
			name: "cycle below an acyclic entry",
			services: map[string]graphService{
				"app":   {dependsOn: graphDeps("zeta")},
				"zeta":  {dependsOn: graphDeps("kappa")},
				"kappa": {dependsOn: graphDeps("zeta")},
			},
			want: "dependency cycle detected: kappa -> zeta -> kappa",
		},
		{
			name: "through links, network_mode and volumes_from",
			services: map[string]graphService{
				"alpha": {links: []string{"beta:b"}},
				"beta":  {networkMode: "service:gamma"},
				"gamma": {volumesFrom: []string{"alpha:ro"}},
			},
			want: "dependency cycle detected: alpha -> beta -> gamma -> alpha",
		},
		{
			name: "optional dependency still orders",
			services: map[string]graphService{
				"alpha": {dependsOn: types.DependsOnConfig{"beta": {Required: false}}},
				"beta":  {dependsOn: graphDeps("alpha")},
			},
			want: "dependency cycle detected: alpha -> beta -> alpha",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertGraphError(t, &types.Project{Services: graphServices(tt.services)}, tt.want)
		})
	}
}

func TestGraphReferences(t *testing.T) {
	disabled := graphServices(map[string]graphService{
		"db":    {profiles: []string{"debug"}},
		"tools": {profiles: []string{"debug", "ops"}},
	})
	optional := func(name string) types.DependsOnConfig {
		return types.DependsOnConfig{name: {Condition: types.ServiceConditionStarted}}
	}
	tests := []struct {
		name string
		web  graphService
		want string // empty: valid
	}{
		{"depends_on", graphService{dependsOn: graphDeps("db0")},
			`service "web" depends on undefined service "db0"`},
		{"links", graphService{links: []string{"db0:database"}},
			`service "web" links to undefined service "db0"`},
		{"network_mode", graphService{networkMode: "service:db0"},
			`service "web" uses network_mode of undefined service "db0"`},
		{"ipc", graphService{ipc: "service:db0"},
			`service "web" uses ipc of undefined service "db0"`},
		{"pid", graphService{pid: "service:db0"},
			`service "web" uses pid of undefined service "db0"`},
		{"volumes_from", graphService{volumesFrom: []string{"db0:rw"}},
			`service "web" mounts volumes from undefined service "db0"`},
		{"volumes_from a container outside the project", graphService{volumesFrom: []string{"container:db0"}}, ""},
		{"namespaces of a container or the host", graphService{networkMode: "container:db0", ipc: "host"}, ""},
		{"depends_on disabled by profile", graphService{dependsOn: graphDeps("db")},
			`service "web" depends on service "db" which is disabled by profile "debug"`},
		{"links to a service with two profiles", graphService{links: []string{"tools"}},
			`service "web" links to service "tools" which is disabled by profile "debug" or "ops"`},
		{"optional undefined is dropped", graphService{dependsOn: optional("db0")}, ""},
		{"optional disabled is dropped", graphService{dependsOn: optional("db")}, ""},
		{
			// The loader adds a depends_on for every link: report the
			// service once, not once per key.
			name: "one error per missing service",
			web:  graphService{dependsOn: graphDeps("db0"), links: []string{"db0"}},
			want: `service "web" depends on undefined service "db0"`,
		},
		{
			name: "every missing service is reported",
			web:  graphService{dependsOn: graphDeps("db0", "cache0")},
			want: "service \"web\" depends on undefined service \"cache0\"\n" +
				`service "web" depends on undefined service "db0"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &types.Project{
				Services:         graphServices(map[string]graphService{"web": tt.web, "api": {}}),
				DisabledServices: disabled,
			}
			if tt.want != "" {
				assertGraphError(t, p, tt.want)
				return
			}
			g := mustGraph(t, p)
			assertGraphEqual(t, "StartOrder", g.StartOrder(), []string{"api", "web"})
			assertGraphEqual(t, "Dependencies(web)", g.Dependencies("web"), []Edge(nil))
		})
	}
}

func TestGraphOptionalDependencyOnDefinedServiceIsKept(t *testing.T) {
	p := &types.Project{Services: graphServices(map[string]graphService{
		"web": {dependsOn: types.DependsOnConfig{"db": {Condition: types.ServiceConditionHealthy}}},
		"db":  {},
	})}
	g := mustGraph(t, p)
	assertGraphEqual(t, "Dependencies(web)", g.Dependencies("web"), []Edge{
		{From: "web", To: "db", Kind: EdgeDependsOn, Condition: types.ServiceConditionHealthy},
	})
	assertGraphEqual(t, "StartOrder", g.StartOrder(), []string{"db", "web"})
}

// A depends_on built in code may leave the condition empty; it means started.
func TestGraphEmptyConditionIsStarted(t *testing.T) {
	p := &types.Project{Services: graphServices(map[string]graphService{
		"web": {dependsOn: types.DependsOnConfig{"db": {Required: true}}},
		"db":  {},
	})}
	got := mustGraph(t, p).Dependencies("web")[0].Condition
	assertGraphEqual(t, "Condition", got, types.ServiceConditionStarted)
}

func TestGraphClosures(t *testing.T) {
	g := mustGraph(t, graphProject(map[string][]string{
		"web":    {"api", "cache"},
		"api":    {"db"},
		"worker": {"db", "queue"},
		"db":     nil, "cache": nil, "queue": nil, "batch": nil,
	}))
	tests := []struct {
		name         string
		services     []string
		dependencies []string
		dependents   []string
	}{
		{"none", nil, []string{}, []string{}},
		{"leaf", []string{"db"}, []string{"db"}, []string{"db", "api", "worker", "web"}},
		{"top", []string{"web"}, []string{"cache", "db", "api", "web"}, []string{"web"}},
		{"middle", []string{"api"}, []string{"db", "api"}, []string{"api", "web"}},
		{"several, repeated", []string{"worker", "api", "worker"},
			[]string{"db", "queue", "api", "worker"}, []string{"api", "worker", "web"}},
		{"isolated", []string{"batch"}, []string{"batch"}, []string{"batch"}},
		{"unknown names are ignored", []string{"nope", "queue"}, []string{"queue"}, []string{"queue", "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertGraphEqual(t, "WithDependencies", g.WithDependencies(tt.services), tt.dependencies)
			assertGraphEqual(t, "WithDependents", g.WithDependents(tt.services), tt.dependents)
		})
	}
}

// Callers may sort or trim what they get; that must not leak into the graph.
func TestGraphReturnsCopies(t *testing.T) {
	g := mustGraph(t, graphProject(map[string][]string{"web": {"db"}, "api": {"db"}, "db": nil}))
	g.Dependencies("web")[0].To = "changed"
	g.Dependents("db")[0] = "changed"
	g.StartLevels()[0][0] = "changed"
	assertGraphEqual(t, "Dependencies(web)", g.Dependencies("web")[0].To, "db")
	assertGraphEqual(t, "Dependents(db)", g.Dependents("db"), []string{"api", "web"})
	assertGraphEqual(t, "StartOrder", g.StartOrder(), []string{"db", "api", "web"})
}

func assertGraphError(t *testing.T, p *types.Project, want string) {
	t.Helper()
	g, err := NewGraph(p)
	if err == nil {
		t.Fatalf("NewGraph: got graph with start order %v, want error %q", g.StartOrder(), want)
	}
	if err.Error() != want {
		t.Fatalf("NewGraph error:\n got %q\nwant %q", err, want)
	}
}

func assertGraphEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// graphBenchProject is a project of n services in which each needs up to
// three earlier ones, a chain with cross links like a large stack.
func graphBenchProject(n int) *types.Project {
	name := func(i int) string { return fmt.Sprintf("svc%02d", i) }
	needs := make(map[string][]string, n)
	for i := range n {
		needs[name(i)] = nil
		for _, j := range []int{i - 1, i / 2, i / 3} {
			if j >= 0 && j < i {
				needs[name(i)] = append(needs[name(i)], name(j))
			}
		}
	}
	return graphProject(needs)
}

func BenchmarkGraph50(b *testing.B) {
	p := graphBenchProject(50)
	for b.Loop() {
		g, err := NewGraph(p)
		if err != nil {
			b.Fatal(err)
		}
		if levels := g.StartLevels(); len(levels) != 50 {
			b.Fatalf("got %d start levels, want 50", len(levels))
		}
		g.StopLevels()
	}
}
