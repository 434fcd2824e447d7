package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        []string
		want       string // the whole message after the file name
	}{
		{
			name: "unknown service key suggests the nearest",
			yaml: "services:\n  web:\n    image: x\n    portz: [\"80:80\"]\n",
			want: `:4: services.web.portz: unknown key; did you mean "ports"?`,
		},
		{
			name: "transposed letters",
			yaml: "services:\n  web:\n    image: x\n    enviornment: {A: b}\n",
			want: `:4: services.web.enviornment: unknown key; did you mean "environment"?`,
		},
		{
			name: "unknown top-level key",
			yaml: "servics:\n  web:\n    image: x\n",
			want: `:1: servics: unknown key; did you mean "services"?`,
		},
		{
			name: "unknown nested key",
			yaml: "services:\n  web:\n    image: x\n    healthcheck:\n      intervl: 5s\n",
			want: `:5: services.web.healthcheck.intervl: unknown key; did you mean "interval"?`,
		},
		{
			name: "nothing close: no suggestion",
			yaml: "services:\n  web:\n    image: x\n    zzzzzzzzzz: 1\n",
			want: `:4: services.web.zzzzzzzzzz: unknown key`,
		},
		{
			name: "wrong type",
			yaml: "services:\n  web:\n    image: x\n    ports: \"80\"\n",
			want: `:4: services.web.ports: must be an array`,
		},
		{
			name: "tab indentation",
			yaml: "services:\n  web:\n\timage: x\n",
			want: `:3: invalid YAML: while scanning for the next token: found character that cannot start any token (the line is indented with a tab: YAML needs spaces)`,
		},
		{
			name: "unclosed quote",
			yaml: "services:\n  web:\n    image: \"x\n",
			want: `:4: invalid YAML: while scanning a quoted scalar: found unexpected end of stream`,
		},
		{
			name: "duplicate key",
			yaml: "services:\n  web:\n    image: x\n  web:\n    image: y\n",
			want: `:4: invalid YAML: mapping key "web" already defined at line 2`,
		},
		{
			name: "required variable",
			yaml: "services:\n  web:\n    image: \"x:${TAG:?TAG must be set}\"\n",
			want: `:3: services.web.image: required variable TAG is missing a value: TAG must be set`,
		},
		{
			name: "bad size",
			yaml: "services:\n  web:\n    image: x\n    mem_limit: lots\n",
			want: `:4: services.web.mem_limit: invalid size: 'lots'`,
		},
		{
			name: "undefined dependency names both services",
			yaml: "services:\n  web:\n    image: x\n    depends_on: [db]\n",
			want: `:4: services.web.depends_on: service "web" depends on undefined service "db"`,
		},
		{
			name: "undefined network",
			yaml: "services:\n  web:\n    image: x\n    networks: [back]\n",
			want: `:4: services.web.networks: service "web" refers to undefined network "back"`,
		},
		{
			name: "short port out of range names the service and the entry",
			yaml: "services:\n  web:\n    image: x\n    ports:\n      - \"8080:80\"\n      - \"99999:80\"\n",
			want: `:6: services.web.ports.1: invalid hostPort: 99999 in "99999:80": ` + portHint,
		},
		{
			name: "long port out of range",
			yaml: "services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        published: \"99999\"\n",
			want: `:5: services.web.ports.0: invalid published port "99999": ` + portHint,
		},
		{
			name: "cycle",
			yaml: "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
			want: `: dependency cycle detected: a -> b -> a`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Environ: tt.env})
			if err == nil {
				t.Fatal("load succeeded, want an error")
			}
			if got := err.Error(); got != file+tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, file+tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"ports", "ports", 0},
		{"portz", "ports", 1},
		{"prots", "ports", 1},
		{"", "abc", 3},
		{"image", "images", 1},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNoConfigFile(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("COMPOSE_FILE", "")
	os.Unsetenv("COMPOSE_FILE")
	_, err := Load(t.Context(), LoadOptions{Environ: []string{}})
	if err == nil || err.Error() != "no configuration file provided: not found" {
		t.Fatalf("got %v", err)
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"app", true}, {"my-app_2", true}, {"1app", true},
		{"", false}, {"App", false}, {"-app", false}, {"_app", false},
		{"a.b", false}, {"../etc", false}, {"a/b", false}, {"a b", false},
	}
	for _, tt := range tests {
		if err := ValidateName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestValidateContainerName(t *testing.T) {
	long := strings.Repeat("a", 77)
	for name, ok := range map[string]bool{
		"app-web-1": true, "a.b_c-1": true, "x": true,
		"": false, "../x": false, "a/b": false, "-a": false, "a--b": false, "a b": false, long: false,
	} {
		if err := ValidateContainerName(name); (err == nil) != ok {
			t.Errorf("ValidateContainerName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"app", "../etc", "a/b", "A", "x-1", strings.Repeat("z", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// whatever a validator accepts stays inside a directory it is joined to
		for _, err := range []error{ValidateName(s), ValidateContainerName(s)} {
			if err == nil && (strings.Contains(s, "/") || strings.Contains(s, "..") || s == "" || s == ".") {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
