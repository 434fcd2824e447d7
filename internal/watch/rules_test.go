package watch

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	build := &Build{Context: "/src/web"}
	tests := []struct {
		name string
		svc  Service
		want string // "" means valid
	}{
		{"sync", Service{Name: "web", Rules: []Rule{{Path: "/src/web/static", Action: ActionSync, Target: "/srv/static"}}}, ""},
		{"rebuild with build", Service{Name: "web", Build: build, Rules: []Rule{{Path: "/src/web", Action: ActionRebuild}}}, ""},
		{"restart without target", Service{Name: "web", Rules: []Rule{{Path: "/src/web/conf", Action: ActionRestart}}}, ""},
		{"sync+exec", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSyncExec, Target: "/a", Exec: Exec{Command: []string{"kill", "-HUP", "1"}}}}}, ""},
		{"target with harmless ..", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSync, Target: "/srv/x/../static"}}}, ""},
		{"rebuild without build", Service{Name: "api", Rules: []Rule{{Path: "/src/api", Action: ActionRebuild}}},
			`service "api": develop.watch[0] (rebuild /src/api): action rebuild needs a build: section in the service`},
		{"relative target", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSync, Target: "srv/static"}}},
			`service "web": develop.watch[0] (sync /src/a): target "srv/static" is outside the container's filesystem: it must be an absolute path`},
		{"target climbing above /", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSyncRestart, Target: "/srv/../../etc"}}},
			`service "web": develop.watch[0] (sync+restart /src/a): target "/srv/../../etc" is outside the container's filesystem: it climbs above /`},
		{"sync without target", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSync}}},
			`service "web": develop.watch[0] (sync /src/a): target is required for sync actions`},
		{"sync+exec without command", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionSyncExec, Target: "/a"}}},
			`action sync+exec needs exec.command`},
		{"unknown action", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: "copy"}}},
			`service "web": develop.watch[0] (copy /src/a): unknown action "copy"`},
		{"missing path", Service{Name: "web", Rules: []Rule{{Action: ActionRestart}}},
			`service "web": develop.watch[0]: path is required`},
		{"bad pattern", Service{Name: "web", Rules: []Rule{{Path: "/src/a", Action: ActionRestart, Ignore: []string{"[x"}}}},
			`service "web": develop.watch[0] (restart /src/a): ignore: pattern "[x"`},
		{"second rule named", Service{Name: "web", Rules: []Rule{
			{Path: "/src/a", Action: ActionRestart},
			{Path: "/src/b", Action: ActionSync, Target: "b"}}},
			`service "web": develop.watch[1] (sync /src/b): target "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]Service{tt.svc})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("one problem gave more than one line: %q", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Validate([]Service{
		{Name: "api", Rules: []Rule{{Path: "/src/api", Action: ActionRebuild}}},
		{Name: "web", Rules: []Rule{{Path: "/src/web", Action: ActionSync, Target: "rel"}}},
	})
	if err == nil {
		t.Fatal("Validate accepted two bad rules")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `service "api"`) || !strings.HasPrefix(lines[1], `service "web"`) {
		t.Fatalf("want one line per service, got %q", lines)
	}
}

func TestContainerPath(t *testing.T) {
	tests := []struct {
		rule Rule
		host string
		want string
	}{
		{Rule{Path: "/src/static", Target: "/srv/www"}, "/src/static/css/site.css", "/srv/www/css/site.css"},
		{Rule{Path: "/src/static", Target: "/srv/www/"}, "/src/static/a", "/srv/www/a"},
		{Rule{Path: "/src/conf.yaml", Target: "/etc/app/conf.yaml"}, "/src/conf.yaml", "/etc/app/conf.yaml"},
		{Rule{Path: "/src", Target: "/"}, "/src/x", "/x"},
	}
	for _, tt := range tests {
		if got := tt.rule.containerPath(tt.host); got != tt.want {
			t.Errorf("containerPath(%q) under %q → %q = %q, want %q", tt.host, tt.rule.Path, tt.rule.Target, got, tt.want)
		}
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		dir, p string
		want   bool
	}{
		{"/a/b", "/a/b", true},
		{"/a/b", "/a/b/c", true},
		{"/a/b", "/a/bc", false},
		{"/a/b", "/a", false},
		{"/", "/x", true},
	}
	for _, tt := range tests {
		if got := within(tt.dir, tt.p); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.dir, tt.p, got, tt.want)
		}
	}
}
