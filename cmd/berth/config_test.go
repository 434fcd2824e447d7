package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
	"github.com/berth-dev/berth/project"
)

// berthIn runs the CLI in-process in dir, with the given files written
// there first.
func berthIn(t *testing.T, files map[string]string, args ...string) result {
	t.Helper()
	return berthEnv(t, nil, files, args...)
}

// berthEnv is berthIn with environment variables (NAME=VALUE) set after
// the COMPOSE_ ones of the caller are cleared.
func berthEnv(t *testing.T, env []string, files map[string]string, args ...string) result {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	isolateEnv(t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"berth"}, args...), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

const twoServices = `services:
  a:
    image: busybox:${TAG:-1}
    environment: {MODE: "${MODE:?set MODE}"}
  b:
    image: busybox
    build: ./b
    env_file: [missing.env]
`

func TestConfigFlags(t *testing.T) {
	files := map[string]string{"compose.yaml": twoServices, ".env": "MODE=x\nFROM_DOTENV=1\n"}
	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout, or of stderr after "stderr:"
		code int
	}{
		{"hash of one service", []string{"config", "--hash", "a"}, []string{"a "}, 0},
		{"variables table", []string{"config", "--variables"}, []string{"NAME                REQUIRED            DEFAULT VALUE       ALTERNATE VALUE\n", "TAG                 false               1"}, 0},
		{"environment", []string{"config", "--environment"}, []string{"FROM_DOTENV=1\n", "MODE=x\n"}, 0},
		{"services need no env_file", []string{"config", "--services"}, []string{"a\nb\n"}, 0},
		{"env files left unresolved", []string{"config", "--no-env-resolution"}, []string{"env_file:", "missing.env"}, 0},
		{"no path resolution", []string{"config", "--no-env-resolution", "--no-path-resolution"}, []string{"context: ./b"}, 0},
		{"normalization adds the default network", []string{"config", "--no-env-resolution"}, []string{"proj_default"}, 0},
		{"no normalization", []string{"config", "--no-env-resolution", "--no-normalize"}, []string{"build:"}, 0},
		{"convert is config", []string{"convert", "--no-env-resolution", "--format", "json"}, []string{`"image": "busybox:1"`}, 0},
		{"no-interpolate with services warns", []string{"config", "--no-interpolate", "a"}, []string{"stderr:warning: service filtering is not applied when --no-interpolate is set, the full model will be rendered"}, 0},
		{"no-interpolate services", []string{"config", "--no-interpolate", "--services"}, []string{"a\nb\n"}, 0},
		{"missing env_file still fails a full config", []string{"config"}, []string{"stderr:missing.env"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := berthIn(t, files, tt.args...)
			if tt.name == "no normalization" && strings.Contains(r.stdout, "default") {
				t.Errorf("--no-normalize added the default network:\n%s", r.stdout)
			}
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				out := r.stdout
				if s, ok := strings.CutPrefix(w, "stderr:"); ok {
					w, out = s, r.stderr
				}
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestConfigHashIsTheLabel checks --hash against the hash up records.
func TestConfigHashIsTheLabel(t *testing.T) {
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n    environment: [X=1]\n  b:\n    image: busybox\n"}
	r := berthIn(t, files, "config", "--hash", "*")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	p, err := project.Load(t.Context(), project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, name := range []string{"a", "b"} {
		h, err := project.ServiceHash(p.Services[name])
		if err != nil {
			t.Fatal(err)
		}
		want.WriteString(name + " " + h + "\n")
	}
	if r.stdout != want.String() {
		t.Errorf("config --hash '*':\n%s\nwant:\n%s", r.stdout, want.String())
	}
}

func TestConfigVariablesJSON(t *testing.T) {
	r := berthIn(t, map[string]string{"compose.yaml": twoServices}, "config", "--variables", "--format", "json")
	var vars map[string]project.Variable
	if err := json.Unmarshal([]byte(r.stdout), &vars); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if !vars["MODE"].Required || vars["TAG"].DefaultValue != "1" || len(vars) != 2 {
		t.Errorf("variables: %+v", vars)
	}
}

func TestConfigNoConsistency(t *testing.T) {
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n    networks: [nope]\n"}
	if r := berthIn(t, files, "config"); r.code != 1 || !strings.Contains(r.stderr, `undefined network "nope"`) {
		t.Errorf("config: exit %d %s", r.code, r.stderr)
	}
	if r := berthIn(t, files, "config", "--no-consistency"); r.code != 0 || !strings.Contains(r.stdout, "nope") {
		t.Errorf("config --no-consistency: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestConfigContainerNameInUse is Docker Compose's sentence, with the file
// and both services.
func TestConfigContainerNameInUse(t *testing.T) {
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n    container_name: fixed\n  b:\n    image: busybox\n    container_name: fixed\n"}
	r := berthIn(t, files, "config", "-q")
	if r.code != 1 || !strings.Contains(r.stderr, `container name "fixed" is already in use by service "a"`) || !strings.Contains(r.stderr, "compose.yaml:7: services.b.container_name") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	// up refuses it before it connects to containerd
	r = berthIn(t, files, "--address", "/nonexistent.sock", "up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, `container name "fixed" is already in use`) {
		t.Errorf("up: exit %d: %s", r.code, r.stderr)
	}
}

func TestConfigModels(t *testing.T) {
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n    models: [llm]\nmodels:\n  llm:\n    model: ai/smollm2\n"}
	r := berthIn(t, files, "config", "--models")
	if r.code != 0 || r.stdout != "ai/smollm2\n" {
		t.Errorf("exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestConfigResolveImageDigests pins tags to what a local registry
// answers; --lock-image-digests prints only the images.
func TestConfigResolveImageDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a local registry")
	}
	reg := testenv.StartRegistry(t)
	img := testenv.BusyboxImage(t)
	ref := reg.Push(t, img, "demo/web:1")
	dgst, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"compose.yaml": "services:\n  web:\n    image: " + ref + "\n    command: [sleep, '1']\n"}
	r := berthIn(t, files, "config", "--resolve-image-digests")
	if r.code != 0 || !strings.Contains(r.stdout, "image: "+ref+"@"+dgst.String()) || !strings.Contains(r.stdout, "command:") {
		t.Errorf("--resolve-image-digests: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = berthIn(t, files, "config", "--lock-image-digests")
	want := regexp.MustCompile(`^services:\n  web:\n    image: \S+@sha256:[0-9a-f]{64}\n$`)
	if r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("--lock-image-digests: exit %d\n%q%s", r.code, r.stdout, r.stderr)
	}
	r = berthIn(t, files, "config", "--no-interpolate", "--lock-image-digests")
	if r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("--no-interpolate --lock-image-digests: exit %d\n%q%s", r.code, r.stdout, r.stderr)
	}
}
