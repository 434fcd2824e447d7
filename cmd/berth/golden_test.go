package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestConfigGolden runs berth in-process over the cases under
// project/testdata/config. Each case is a directory holding Compose files
// and a script, cmd.txt:
//
//	env NAME=VALUE     set a variable for the run
//	cd DIR             run from a subdirectory
//	stdin FILE         feed FILE as standard input
//	berth ARGS...      the command line (one per case)
//	cat FILE           append FILE, written by the command, to stdout
//	exit N             the expected exit code (default 0)
//
// stdout and stderr are compared with want.stdout and want.stderr, with the
// case directory written as $DIR.
func TestConfigGolden(t *testing.T) {
	cases, err := filepath.Glob("../../project/testdata/config/*/cmd.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Fatalf("found %d golden cases, want at least 25", len(cases))
	}
	for _, script := range cases {
		src, err := filepath.Abs(filepath.Dir(script))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(src), func(t *testing.T) { runGolden(t, src) })
	}
}

type goldenCase struct {
	env      [][2]string
	dir      string
	stdin    string
	args     []string
	cat      []string
	wantCode int
}

func runGolden(t *testing.T, src string) {
	// the project name comes from the directory name: keep the case's
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	gc := parseScript(t, filepath.Join(dir, "cmd.txt"))
	isolateEnv(t)
	for _, kv := range gc.env {
		t.Setenv(kv[0], kv[1])
	}
	t.Chdir(filepath.Join(dir, gc.dir))
	if gc.stdin != "" {
		feedStdin(t, filepath.Join(dir, gc.stdin))
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"berth"}, gc.args...), &stdout, &stderr)
	for _, f := range gc.cat {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("cat %s: %v", f, err)
		}
		stdout.Write(b)
	}
	if code != gc.wantCode {
		t.Errorf("exit code %d, want %d\nstderr: %s", code, gc.wantCode, stderr.String())
	}
	compareGolden(t, filepath.Join(src, "want.stdout"), dir, stdout.String())
	compareGolden(t, filepath.Join(src, "want.stderr"), dir, stderr.String())
}

func parseScript(t *testing.T, path string) goldenCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gc goldenCase
	for _, line := range strings.Split(string(b), "\n") {
		verb, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch verb {
		case "", "#":
		case "env":
			k, v, _ := strings.Cut(rest, "=")
			gc.env = append(gc.env, [2]string{k, v})
		case "cd":
			gc.dir = rest
		case "stdin":
			gc.stdin = rest
		case "berth":
			gc.args = strings.Fields(rest)
		case "cat":
			gc.cat = append(gc.cat, rest)
		case "exit":
			gc.wantCode, err = strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("%s: bad exit line %q", path, line)
			}
		default:
			t.Fatalf("%s: unknown verb %q", path, verb)
		}
	}
	return gc
}

// isolateEnv unsets the variables that steer Compose, so the developer's or
// CI's environment cannot change the result.
func isolateEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "COMPOSE_") {
			t.Setenv(k, v) // restores it afterwards
			os.Unsetenv(k)
		}
	}
	t.Setenv("HOME", "/home/user")
}

func feedStdin(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = f
	t.Cleanup(func() { os.Stdin = old; f.Close() })
}

func compareGolden(t *testing.T, golden, dir, got string) {
	t.Helper()
	got = strings.ReplaceAll(got, dir, "$DIR")
	if *update {
		if got == "" {
			os.Remove(golden)
			return
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", filepath.Base(golden), got, want)
	}
}
