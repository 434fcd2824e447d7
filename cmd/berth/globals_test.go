package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/progress"
)

func TestProgressMode(t *testing.T) {
	tests := []struct {
		mode, ansi string
		tty        bool
		want       string
		err        string
	}{
		{"auto", "auto", true, progress.ModeTTY, ""},
		{"auto", "auto", false, progress.ModePlain, ""},
		{"auto", "never", true, progress.ModePlain, ""},
		{"", "always", false, progress.ModePlain, ""},
		{"tty", "never", false, "", "can't use --progress tty while ANSI support is disabled"},
		{"plain", "always", true, "", "can't use --progress plain while ANSI support is forced"},
		{"quiet", "never", true, progress.ModeQuiet, ""},
		{"tty", "auto", false, progress.ModeTTY, ""},
	}
	for _, tt := range tests {
		got, err := progressMode(tt.mode, tt.ansi, tt.tty)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("progressMode(%q, %q, %v) = %q, %v; want %q, %q", tt.mode, tt.ansi, tt.tty, got, err, tt.want, tt.err)
		}
	}
}

func TestUseColor(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	for _, tt := range []struct {
		ansi string
		want bool
	}{{"always", true}, {"never", false}, {"auto", false}} {
		set := flag.NewFlagSet("t", flag.ContinueOnError)
		set.String(flagAnsi, tt.ansi, "")
		c := cli.NewContext(&cli.App{}, set, nil)
		// a buffer is not a terminal: auto means no colours
		if got := useColor(c, &bytes.Buffer{}); got != tt.want {
			t.Errorf("--ansi %s: colours %v, want %v", tt.ansi, got, tt.want)
		}
	}
	t.Setenv("NO_COLOR", "1")
	set := flag.NewFlagSet("t", flag.ContinueOnError)
	set.String(flagAnsi, "always", "")
	if useColor(cli.NewContext(&cli.App{}, set, nil), io.Discard) {
		t.Error("NO_COLOR did not win over --ansi always")
	}
}

func TestAnsiRefusesUnknownValues(t *testing.T) {
	r := berthIn(t, map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n"}, "--ansi", "sometimes", "config", "-q")
	if r.code != 2 || !strings.Contains(r.stderr, `invalid --ansi "sometimes": use never, always or auto`) {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	r = berthIn(t, map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n"}, "--ansi", "never", "config", "-q")
	if r.code != 0 {
		t.Errorf("--ansi never: exit %d: %s", r.code, r.stderr)
	}
}

func TestAllResources(t *testing.T) {
	files := map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\nnetworks:\n  spare: {}\nvolumes:\n  unused: {}\n"}
	if r := berthIn(t, files, "config", "--networks"); r.stdout != "default\n" {
		t.Errorf("config --networks: %q", r.stdout)
	}
	if r := berthIn(t, files, "--all-resources", "config", "--networks"); r.stdout != "default\nspare\n" {
		t.Errorf("--all-resources config --networks: %q %s", r.stdout, r.stderr)
	}
	if r := berthIn(t, files, "--all-resources", "config", "--volumes"); r.stdout != "unused\n" {
		t.Errorf("--all-resources config --volumes: %q %s", r.stdout, r.stderr)
	}
}

// TestCompatibilityNames checks Docker Compose v1's separator for built
// images, and that it does not outlive the run that asked for it.
func TestCompatibilityNames(t *testing.T) {
	files := map[string]string{"compose.yaml": "name: shop\nservices:\n  web:\n    build: .\n"}
	if r := berthIn(t, files, "--compatibility", "config", "--images"); r.stdout != "shop_web\n" {
		t.Errorf("--compatibility config --images: %q %s", r.stdout, r.stderr)
	}
	if r := berthIn(t, files, "config", "--images"); r.stdout != "shop-web\n" {
		t.Errorf("config --images after a --compatibility run: %q %s", r.stdout, r.stderr)
	}
	if r := berthEnv(t, []string{"COMPOSE_COMPATIBILITY=true"}, files, "config", "--images"); r.stdout != "shop_web\n" {
		t.Errorf("COMPOSE_COMPATIBILITY=true config --images: %q %s", r.stdout, r.stderr)
	}
}
