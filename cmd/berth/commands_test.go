package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/volumes"
)

func TestRefusedCommands(t *testing.T) {
	for _, name := range []string{"commit", "publish"} {
		r := berthIn(t, map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n"}, name, "a", "-m", "x")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "berth "+name+" is not supported: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: exit %d %q", name, r.code, r.stderr)
		}
	}
}

func TestPrintVolumes(t *testing.T) {
	vols := []volumes.Volume{{Name: "p_data", Mountpoint: "/v/p_data/_data", Labels: map[string]string{"a": "1", "b": "2"}, Created: time.Now()}}
	tests := []struct{ format, want string }{
		{"table", "DRIVER    VOLUME NAME\nlocal     p_data\n"},
		{"json", `{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=1,b=2","Links":"N/A","Mountpoint":"/v/p_data/_data","Name":"p_data","Scope":"local","Size":"N/A","Status":"N/A"}` + "\n"},
		{"{{.Name}} {{.Mountpoint}}", "p_data /v/p_data/_data\n"},
		{`table {{.Name}}\t{{.Labels}}`, "VOLUME NAME   LABELS\np_data        a=1,b=2\n"},
	}
	for _, tt := range tests {
		tmpl, table, err := volumesTemplate(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := printVolumes(&buf, vols, tmpl, table); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("--format %s:\n%q\nwant\n%q", tt.format, buf.String(), tt.want)
		}
	}
	if _, _, err := volumesTemplate("{{.Nope"); err == nil {
		t.Error("a broken template was accepted")
	}
}

// TestRunTTYFromAPipe is Docker Compose's refusal of a terminal fed from a
// pipe, before anything is created.
func TestRunTTYFromAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = old; r.Close(); w.Close() })
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n"}
	res := berthIn(t, files, "--address", "/nonexistent.sock", "run", "--tty", "a", "true")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "cannot attach stdin to a TTY-enabled container because stdin is not a terminal") {
		t.Errorf("run --tty from a pipe: exit %d %q", res.code, res.stderr)
	}
	res = berthIn(t, files, "--address", "/nonexistent.sock", "run", "-t", "-T", "a", "true")
	if res.code != 2 || !strings.Contains(res.stderr, "--tty and --no-tty can't be used together") {
		t.Errorf("run -t -T: exit %d %q", res.code, res.stderr)
	}
	// -t without stdin is allowed: it gets as far as containerd
	res = berthIn(t, files, "--address", "/nonexistent.sock", "run", "-t", "-i=false", "a", "true")
	if res.code != 1 || !strings.Contains(res.stderr, "/nonexistent.sock") {
		t.Errorf("run -t -i=false: exit %d %q", res.code, res.stderr)
	}
}

func TestLsFilter(t *testing.T) {
	match, err := lsFilter([]string{"name=shop", "name=^web-"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"shop": true, "web-1": true, "myshop2": true, "db": false} {
		if match(name) != want {
			t.Errorf("match(%q) = %v", name, !want)
		}
	}
	if _, err := lsFilter([]string{"status=running"}); err == nil {
		t.Error("status= accepted")
	}
}

func TestResolveEnv(t *testing.T) {
	t.Setenv("SET_HERE", "v")
	os.Unsetenv("NOT_SET_HERE")
	got := resolveEnv([]string{"A=1", "SET_HERE", "NOT_SET_HERE", "B="})
	if strings.Join(got, " ") != "A=1 SET_HERE=v B=" {
		t.Errorf("resolveEnv: %q", got)
	}
}
