package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
)

// useVerdictDir keeps the test's verdicts in a directory of its own.
func useVerdictDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "validated")
	old := verdictDir
	verdictDir = dir
	t.Cleanup(func() { verdictDir = old })
	return dir
}

// verdicts counts the remembered verdicts.
func verdicts(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(verdictDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

// A file that passed is remembered and loads the same way again; a change that
// breaks it is validated, and refused, at once; what failed is never remembered.
func TestVerdictRemembersOnlyWhatPassed(t *testing.T) {
	useVerdictDir(t)
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "compose.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := LoadOptions{Environ: []string{"TAG=1"}}
	write("name: v\nservices:\n  web:\n    image: busybox:${TAG}\n")
	first, err := Load(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := verdicts(t); n != 1 {
		t.Fatalf("%d verdicts after a valid load, want 1", n)
	}
	again, err := Load(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Render(first, "json")
	b, _ := Render(again, "json")
	if string(a) != string(b) {
		t.Errorf("the remembered load differs:\n%s\n%s", a, b)
	}
	write("name: v\nservices:\n  web:\n    image: busybox:${TAG}\n    colour: red\n")
	if _, err := Load(t.Context(), opts); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("an invalid edit loaded: %v", err)
	}
	if n := verdicts(t); n != 1 {
		t.Errorf("%d verdicts after a failed load, want still 1", n)
	}
}

// The verdict's key covers every input of the schema's verdict, and files that
// reach beyond the hashed bytes are not remembered.
func TestVerdictKey(t *testing.T) {
	useVerdictDir(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "compose.yaml")
	key := func(content string, environ []string, name string, noInterpolate bool) string {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		po, err := cli.NewProjectOptions([]string{path}, cli.WithEnv(environ), cli.WithName(name))
		if err != nil {
			t.Fatal(err)
		}
		return verdictFor(po, LoadOptions{NoInterpolate: noInterpolate}).path
	}
	const file = "services:\n  web:\n    image: busybox:${TAG}\n"
	base := key(file, []string{"TAG=1"}, "p", false)
	if base == "" {
		t.Fatal("a plain file is not remembered")
	}
	for _, tc := range []struct {
		name          string
		content       string
		environ       []string
		project       string
		noInterpolate bool
	}{
		{"content", file + "    init: true\n", []string{"TAG=1"}, "p", false},
		{"environment", file, []string{"TAG=2"}, "p", false},
		{"a variable of the loader", file, []string{"TAG=1", "COMPOSE_PROFILES=x"}, "p", false},
		{"project name", file, []string{"TAG=1"}, "q", false},
		{"no interpolation", file, []string{"TAG=1"}, "p", true},
	} {
		if got := key(tc.content, tc.environ, tc.project, tc.noInterpolate); got == base || got == "" {
			t.Errorf("%s: key %q, want one of its own", tc.name, got)
		}
	}
	if again := key(file, []string{"TAG=1"}, "p", false); again != base {
		t.Errorf("the same inputs give another key")
	}
	// a variable the files do not name cannot change their verdict
	if other := key(file, []string{"TAG=1", "OLDPWD=/tmp"}, "p", false); other != base {
		t.Errorf("a variable the files do not name changed the key")
	}
	for _, content := range []string{
		"include: [other.yaml]\n" + file,
		file + "  api:\n    extends: {file: base.yaml, service: api}\n",
		"version: '3'\n" + file,
	} {
		if got := key(content, []string{"TAG=1"}, "p", false); got != "" {
			t.Errorf("remembered %q", content)
		}
	}
}

// Past the limit the least recently used half of the verdicts goes.
func TestPruneVerdicts(t *testing.T) {
	dir := useVerdictDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	total := verdictMaxEntries + 2
	for i := range total {
		path := filepath.Join(dir, fmt.Sprintf("%04d", i))
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// the higher the number, the more recently used
		used := now.Add(time.Duration(i-total) * time.Second)
		if err := os.Chtimes(path, used, used); err != nil {
			t.Fatal(err)
		}
	}
	pruneVerdicts(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != total/2 || entries[0].Name() != fmt.Sprintf("%04d", total/2) {
		t.Errorf("%d verdicts left, the oldest %s", len(entries), entries[0].Name())
	}
}
