package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// loadFiles writes a project directory (compose.yaml and the files it
// references) and loads it as `berth kube convert` does.
func loadFiles(t testing.TB, files map[string]string, environ ...string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return loadDir(t, dir, environ...)
}

// loadDir loads dir/compose.yaml with only the given environment, never
// the test's.
func loadDir(t testing.TB, dir string, environ ...string) *types.Project {
	t.Helper()
	return loadFile(t, filepath.Join(dir, "compose.yaml"), environ...)
}

func loadFile(t testing.TB, file string, environ ...string) *types.Project {
	t.Helper()
	p, err := project.Load(t.Context(), project.LoadOptions{
		ConfigPaths:  []string{file},
		Environ:      append([]string{"HOME=/home/user"}, environ...),
		KeepEnvFiles: true,
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

// convertYAML converts a Compose file given as text.
func convertYAML(t *testing.T, compose string, opts Options) *Result {
	t.Helper()
	return mustConvert(t, loadFiles(t, map[string]string{"compose.yaml": compose}), opts)
}

func mustConvert(t testing.TB, p *types.Project, opts Options) *Result {
	t.Helper()
	res, err := Convert(p, opts)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	return res
}

// object returns the output's object of that kind and name, typed.
func object[T Object](t *testing.T, res *Result, kind, name string) T {
	t.Helper()
	for _, o := range res.Objects {
		if kindOf(o) == kind && o.GetName() == name {
			typed, ok := o.(T)
			if !ok {
				t.Fatalf("%s %s is a %T", kind, name, o)
			}
			return typed
		}
	}
	var names []string
	for _, o := range res.Objects {
		names = append(names, kindOf(o)+"/"+o.GetName())
	}
	t.Fatalf("no %s %s in %v", kind, name, names)
	var zero T
	return zero
}

func hasObject(res *Result, kind, name string) bool {
	for _, o := range res.Objects {
		if kindOf(o) == kind && o.GetName() == name {
			return true
		}
	}
	return false
}

// warningWith returns the warnings of the service (empty: project-level)
// whose text contains every part.
func warningsWith(res *Result, service string, parts ...string) []string {
	var out []string
	for _, w := range res.Warnings {
		if w.Service != service {
			continue
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w.String(), p)
		}
		if all {
			out = append(out, w.String())
		}
	}
	return out
}

func requireWarning(t *testing.T, res *Result, service string, parts ...string) {
	t.Helper()
	if len(warningsWith(res, service, parts...)) != 1 {
		t.Errorf("want one warning of %q with %q, got %d; all: %v", service, parts, len(warningsWith(res, service, parts...)), res.Warnings)
	}
}
