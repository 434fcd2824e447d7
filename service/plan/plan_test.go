package plan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/network/netspec"
)

func svc(name string, deps ...Dep) DesiredService {
	return DesiredService{
		Name: name, Replicas: 1, ContainerNames: []string{"p-" + name + "-1"},
		Hash: "h-" + name, ImageID: "img", Networks: []string{"p_default"}, Deps: deps,
	}
}

func running(service string, n int, hash string) Container {
	return Container{Container: record.Container{Name: "p-" + service + "-" + string(rune('0'+n)), Service: service, Number: n, ConfigHash: hash, ImageID: "img"}, State: StateRunning}
}

func TestPlanUp(t *testing.T) {
	web := svc("web", Dep{Service: "api", Condition: ConditionStarted})
	api := svc("api", Dep{Service: "db", Condition: ConditionHealthy}, Dep{Service: "migrate", Condition: ConditionCompleted})
	db := svc("db")
	db.HasHealthcheck = true
	migrate := svc("migrate")
	stack := Desired{
		Project:     "p",
		Services:    []DesiredService{db, migrate, api, web},
		AllServices: []string{"api", "db", "migrate", "web"},
		Networks:    []Resource{{Name: "p_default"}},
		Volumes:     []Resource{{Name: "p_data"}},
	}
	all := []Container{running("db", 1, "h-db"), running("api", 1, "h-api"), running("web", 1, "h-web"),
		withStateOf(running("migrate", 1, "h-migrate"), StateExited)}
	exists := Observed{Containers: all, Networks: map[string]bool{"p_default": true}, Volumes: map[string]bool{"p_data": true}}

	tests := []struct {
		name string
		d    Desired
		o    Observed
		opts UpOptions
		want string
	}{
		{
			name: "fresh stack: create everything in parallel, start along the conditions",
			d:    stack,
			o:    Observed{},
			want: `
[] -> #1 network:p_default create (missing)
[] -> #2 volume:p_data create (missing)
[#1] -> #3 container:p-db-1 create (missing)
[#1] -> #4 container:p-migrate-1 create (missing)
[#1] -> #5 container:p-api-1 create (missing)
[#1] -> #6 container:p-web-1 create (missing)
[#3] -> #7 container:p-db-1 start
[#4] -> #8 container:p-migrate-1 start
[#7] -> #9 service:db wait-healthy
[#8] -> #10 service:migrate wait-completed
[#5 #9 #10] -> #11 container:p-api-1 start
[#6 #11] -> #12 container:p-web-1 start
`,
		},
		{
			name: "nothing changed: nothing to do",
			d:    stack,
			o:    exists,
			want: "",
		},
		{
			name: "changed config recreates that service alone",
			d:    withService(stack, func(s *DesiredService) { s.Hash = "h-api-2" }, "api"),
			o:    exists,
			want: `
[] -> #1 container:p-api-1 recreate (config changed)
[] -> #2 service:db wait-healthy
[] -> #3 service:migrate wait-completed
[#1 #2 #3] -> #4 container:p-api-1 start
`,
		},
		{
			name: "depends_on restart: true recreates the dependent too",
			d: withService(withService(stack, func(s *DesiredService) { s.Hash = "h-api-2" }, "api"),
				func(s *DesiredService) { s.Deps[0].Restart = true }, "web"),
			o: exists,
			want: `
[] -> #1 container:p-api-1 recreate (config changed)
[] -> #2 container:p-web-1 recreate (dependency api recreated)
[] -> #3 service:db wait-healthy
[] -> #4 service:migrate wait-completed
[#1 #3 #4] -> #5 container:p-api-1 start
[#2 #5] -> #6 container:p-web-1 start
`,
		},
		{
			name: "always-recreate-deps",
			d:    withService(stack, func(s *DesiredService) { s.Hash = "h-api-2" }, "api"),
			o:    exists,
			opts: UpOptions{AlwaysRecreateDeps: true},
			want: `
[] -> #1 container:p-api-1 recreate (config changed)
[] -> #2 container:p-web-1 recreate (dependency api recreated)
[] -> #3 service:db wait-healthy
[] -> #4 service:migrate wait-completed
[#1 #3 #4] -> #5 container:p-api-1 start
[#2 #5] -> #6 container:p-web-1 start
`,
		},
		{
			name: "no-recreate keeps changed containers",
			d:    withService(stack, func(s *DesiredService) { s.Hash = "h-api-2" }, "api"),
			o:    exists,
			opts: UpOptions{NoRecreate: true},
			want: "",
		},
		{
			name: "image changed",
			d:    withService(stack, func(s *DesiredService) { s.ImageID = "img2" }, "db"),
			o:    exists,
			want: `
[] -> #1 container:p-db-1 recreate (image changed)
[#1] -> #2 container:p-db-1 start
`,
		},
		{
			name: "stopped container is started, dependents wait",
			d:    stack,
			o:    withState(exists, "p-db-1", StateExited, 137),
			want: `
[] -> #1 container:p-db-1 start (not running)
`,
		},
		{
			name: "failed one-shot dependency runs again",
			d:    stack,
			o:    withState(exists, "p-migrate-1", StateExited, 1),
			want: `
[] -> #1 container:p-migrate-1 start (not running)
`,
		},
		{
			name: "scale up and down",
			d: withService(withService(stack, func(s *DesiredService) {
				s.Replicas, s.ContainerNames = 3, []string{"p-web-1", "p-web-2", "p-web-3"}
			}, "web"), func(s *DesiredService) { s.Replicas, s.ContainerNames = 0, nil }, "db"),
			o: exists,
			want: `
[] -> #1 container:p-db-1 remove (scaled down)
[] -> #2 container:p-web-2 create (missing)
[] -> #3 container:p-web-3 create (missing)
[#2] -> #4 container:p-web-2 start
[#3] -> #5 container:p-web-3 start
`,
		},
		{
			name: "orphans removed with --remove-orphans",
			d:    stack,
			o:    withOrphan(exists),
			opts: UpOptions{RemoveOrphans: true},
			want: `
[] -> #1 container:p-old-1 remove (orphan)
`,
		},
		{
			name: "no-start creates only",
			d:    stack,
			o:    Observed{Networks: map[string]bool{"p_default": true}, Volumes: map[string]bool{"p_data": true}},
			opts: UpOptions{NoStart: true},
			want: `
[] -> #1 container:p-db-1 create (missing)
[] -> #2 container:p-migrate-1 create (missing)
[] -> #3 container:p-api-1 create (missing)
[] -> #4 container:p-web-1 create (missing)
`,
		},
		{
			name: "wait for every service",
			d:    stack,
			o:    exists,
			opts: UpOptions{Wait: true},
			want: `
[] -> #1 service:db wait-healthy
[] -> #2 service:api wait-running
[] -> #3 service:web wait-running
`,
		},
		{
			name: "shared network namespace follows its target",
			d: Desired{Project: "p", AllServices: []string{"app", "sidecar"}, Services: []DesiredService{
				{Name: "app", Replicas: 1, ContainerNames: []string{"p-app-1"}, Hash: "new"},
				{Name: "sidecar", Replicas: 1, ContainerNames: []string{"p-sidecar-1"}, Hash: "h-sidecar",
					Deps: []Dep{{Service: "app", Condition: ConditionStarted, Namespace: true}}},
			}},
			o: Observed{Containers: []Container{running("app", 1, "old"), running("sidecar", 1, "h-sidecar")}},
			want: `
[] -> #1 container:p-app-1 recreate (config changed)
[#1] -> #2 container:p-sidecar-1 recreate (dependency app recreated)
[#1] -> #3 container:p-app-1 start
[#2 #3] -> #4 container:p-sidecar-1 start
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanUp(tt.d, tt.o, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := plan.String()
			if strings.TrimSpace(got) != strings.TrimSpace(tt.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", got, strings.TrimSpace(tt.want))
			}
		})
	}
}

func withService(d Desired, change func(*DesiredService), name string) Desired {
	out := d
	out.Services = make([]DesiredService, len(d.Services))
	for i, s := range d.Services {
		s.Deps = append([]Dep(nil), s.Deps...)
		if s.Name == name {
			change(&s)
		}
		out.Services[i] = s
	}
	return out
}

func withState(o Observed, name, state string, code int) Observed {
	out := o
	out.Containers = append([]Container(nil), o.Containers...)
	for i := range out.Containers {
		if out.Containers[i].Name == name {
			out.Containers[i].State, out.Containers[i].ExitCode = state, code
		}
	}
	return out
}

func withOrphan(o Observed) Observed {
	out := o
	out.Containers = append(append([]Container(nil), o.Containers...), running("old", 1, "h-old"))
	return out
}

func TestPlanUpWarnsAboutOrphans(t *testing.T) {
	d := Desired{Project: "p", AllServices: []string{"web"}}
	plan, err := PlanUp(d, withOrphan(Observed{}), UpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Ops) != 0 || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "p-old-1") {
		t.Fatalf("plan %s warnings %q", plan, plan.Warnings)
	}
}

func TestPlanUpMissingExternal(t *testing.T) {
	d := Desired{Project: "p", Volumes: []Resource{{Name: "shared", External: true}}}
	_, err := PlanUp(d, Observed{}, UpOptions{})
	if err == nil || !strings.Contains(err.Error(), `external volume "shared" not found`) {
		t.Fatalf("got %v", err)
	}
}

func TestPlanDown(t *testing.T) {
	web := withDeps(running("web", 1, ""), "api:service_started:false")
	api := withDeps(running("api", 1, ""), "db:service_healthy:false,cache:service_started:false")
	o := Observed{
		Containers: []Container{running("db", 1, ""), api, web, running("cache", 1, ""), running("batch", 1, ""), running("old", 1, "")},
		Networks:   map[string]bool{"p_default": true},
		Volumes:    map[string]bool{"p_data": true},
	}
	plan := PlanDown(o, DownOptions{
		Services: []string{"web", "api", "db", "cache", "batch"},
		Networks: []string{"p_default", "p_gone"},
		Volumes:  []string{"p_data"},
	})
	want := `
[] -> #1 container:p-batch-1 remove
[] -> #2 container:p-web-1 remove
[#2] -> #3 container:p-api-1 remove
[#3] -> #4 container:p-cache-1 remove
[#3] -> #5 container:p-db-1 remove
[#1 #2 #3 #4 #5] -> #6 network:p_default remove
[#1 #2 #3 #4 #5] -> #7 volume:p_data remove
`
	if got := plan.String(); strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("plan:\n%s\nwant:\n%s", got, strings.TrimSpace(want))
	}
}

// onNetwork marks a container as attached to networks, as its record says.
func onNetwork(c Container, nets ...string) Container {
	c.Networks = nets
	return c
}

func TestPlanUpChangedResources(t *testing.T) {
	subnet := func(s string) *netspec.Spec {
		return &netspec.Spec{Name: "p_back", Labels: map[string]string{record.LabelHash: "new"},
			Subnets: []netspec.Subnet{{Subnet: netip.MustParsePrefix(s)}}}
	}
	api, web := svc("api"), svc("web")
	api.Networks, web.Networks = []string{"p_back"}, []string{"p_default"}
	api.Volumes = []string{"p_data"}
	d := Desired{Project: "p", Services: []DesiredService{api, web}, AllServices: []string{"api", "web"},
		Networks: []Resource{{Name: "p_back", Hash: "new", Network: subnet("10.9.2.0/24")}, {Name: "p_default"}},
		Volumes:  []Resource{{Name: "p_data", Hash: "vol", Volume: &translate.Volume{Name: "p_data"}}}}
	observed := func(netHash, volHash string) Observed {
		return Observed{
			Containers:     []Container{onNetwork(running("api", 1, "h-api"), "p_back"), onNetwork(running("web", 1, "h-web"), "p_default")},
			Networks:       map[string]bool{"p_back": true, "p_default": true},
			Volumes:        map[string]bool{"p_data": true},
			NetworkRecords: map[string]record.Resource{"p_back": {Hash: netHash}},
			VolumeRecords:  map[string]record.Resource{"p_data": {Hash: volHash, User: map[string]string{"purpose": "old"}}},
			NetworkSpecs:   map[string]netspec.Spec{"p_back": *subnet("10.9.1.0/24")},
		}
	}
	t.Run("changed network recreated with its containers", func(t *testing.T) {
		plan, err := PlanUp(d, observed("old", "vol"), UpOptions{})
		if err != nil {
			t.Fatal(err)
		}
		assertPlan(t, plan, `
[] -> #1 container:p-api-1 remove (network p_back recreated)
[#1] -> #2 network:p_back recreate (config changed: subnets[0]: 10.9.2.0/24 (ipam.config), existing network has 10.9.1.0/24)
[#2] -> #3 container:p-api-1 create (network p_back recreated)
[#3] -> #4 container:p-api-1 start
`)
	})
	t.Run("network without a recorded hash is kept", func(t *testing.T) {
		plan, err := PlanUp(d, observed("", "vol"), UpOptions{})
		if err != nil || !plan.Empty() {
			t.Fatalf("plan %v, err %v", plan, err)
		}
	})
	t.Run("changed volume refused without --yes", func(t *testing.T) {
		_, err := PlanUp(d, observed("new", "other"), UpOptions{})
		if err == nil || !strings.Contains(err.Error(), `volume "p_data" exists with a different definition (labels)`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("changed volume recreated with --yes", func(t *testing.T) {
		plan, err := PlanUp(d, observed("new", "other"), UpOptions{Yes: true})
		if err != nil {
			t.Fatal(err)
		}
		assertPlan(t, plan, `
[] -> #1 container:p-api-1 remove (volume p_data recreated)
[#1] -> #2 volume:p_data recreate (config changed)
[#2] -> #3 container:p-api-1 create (volume p_data recreated)
[#3] -> #4 container:p-api-1 start
`)
	})
	t.Run("a container of a service up leaves alone is not displaced", func(t *testing.T) {
		only := d
		only.Services = []DesiredService{web}
		_, err := PlanUp(only, observed("old", "vol"), UpOptions{})
		if err == nil || !strings.Contains(err.Error(), `container p-api-1 of service "api" uses it`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPlanRunCreatesOnlyWhatTheOneOffUses(t *testing.T) {
	api := svc("api")
	api.Volumes = []string{"p_data"}
	d := Desired{Project: "p", Services: []DesiredService{api, svc("web")},
		Networks: []Resource{{Name: "p_default", Network: &netspec.Spec{Name: "p_default"}}, {Name: "p_other", Network: &netspec.Spec{Name: "p_other"}}},
		Volumes:  []Resource{{Name: "p_data", Volume: &translate.Volume{Name: "p_data"}}, {Name: "p_unused", Volume: &translate.Volume{Name: "p_unused"}}}}
	plan, err := PlanRun(d, Observed{}, types.ServiceConfig{Name: "api"}, "p-api-run-1")
	if err != nil {
		t.Fatal(err)
	}
	assertPlan(t, plan, `
[] -> #1 network:p_default create (missing)
[] -> #2 volume:p_data create (missing)
[#1 #2] -> #3 container:p-api-run-1 create (one-off)
`)
	if op := plan.Ops[2]; op.Desired == nil || op.Desired.Name != "api" || op.Number != 1 {
		t.Errorf("the one-off's op carries %+v", op.Desired)
	}
}

func TestPlanCreates(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []*Op
		want bool
	}{
		{"empty", nil, false},
		{"network only", []*Op{{Kind: OpCreate, Resource: ResNetwork}}, false},
		{"start only", []*Op{{Kind: OpStart, Resource: ResContainer}}, false},
		{"container created", []*Op{{Kind: OpCreate, Resource: ResNetwork}, {Kind: OpCreate, Resource: ResContainer}}, true},
		{"container recreated", []*Op{{Kind: OpRecreate, Resource: ResContainer}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&Plan{Ops: tc.ops}).Creates(); got != tc.want {
				t.Errorf("Creates() = %v, want %v", got, tc.want)
			}
		})
	}
}
