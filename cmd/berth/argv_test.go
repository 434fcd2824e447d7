package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		in, want string
	}{
		{"up web -d", "up -d -- web"},
		{"logs web -f", "logs -f -- web"},
		{"config a --services", "config --services -- a"},
		{"-p x up web --scale web=2 -d", "-p x up --scale web=2 -d -- web"},
		{"logs web -n 5 db", "logs -n 5 -- web db"},
		{"logs web --tail=5", "logs --tail=5 -- web"},
		{"up -t 3 web", "up -t 3 -- web"},
		{"up web -dV", "up -dV -- web"},
		{"logs web -fn 5", "logs -fn 5 -- web"},
		{"down --dry-run", "--dry-run down"},
		{"up web --dry-run -d", "--dry-run up -d -- web"},
		{"logs -- web -f", "logs -- web -f"},
		{"cp web:/a -", "cp -- web:/a -"},
		{"volume ls --format json", "volume ls --format json"},
		{"volume rm data -f", "volume rm -f -- data"},
		{"builder prune -a", "builder prune -a"},
		{"exec web ls -l", "exec web ls -l"},
		{"exec -T web ls -l", "exec -T web ls -l"},
		{"run --rm web sh -c true", "run --rm web sh -c true"},
		{"up --nosuch web", "up --nosuch -- web"},
		{"-f a.yaml", "-f a.yaml"},
		{"nosuch web -d", "nosuch web -d"},
		{"ps", "ps"},
	}
	for _, tt := range tests {
		got := strings.Join(reorderArgs(app, append([]string{"berth"}, strings.Fields(tt.in)...))[1:], " ")
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFlagsAfterArguments runs every command with an argument followed by
// one of its flags, as Docker Compose users write them (`berth up web -d`),
// and checks the command sees both. exec and run keep what follows the
// service as the command line to run.
func TestFlagsAfterArguments(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, cmd := range leafCommands(app.Commands, "") {
		t.Run(cmd.path, func(t *testing.T) {
			args := append(strings.Fields(cmd.path), "ARG")
			name, value := sampleFlag(cmd.Command)
			args = append(args, "--"+name)
			if value != "" {
				args = append(args, value)
			}
			wantArgs := []string{"ARG"}
			if slices.Contains(positionalTail, cmd.Name) {
				wantArgs = args[1:]
			}
			seen := captureRun(t, args, name, value)
			if !slices.Equal(seen.args, wantArgs) {
				t.Errorf("berth %s: arguments %q, want %q", strings.Join(args, " "), seen.args, wantArgs)
			}
			if !slices.Contains(positionalTail, cmd.Name) && seen.value != value && !(value == "" && seen.value == "true") {
				t.Errorf("berth %s: --%s is %q, want %q", strings.Join(args, " "), name, seen.value, value)
			}
		})
	}
}

type leafCommand struct {
	*cli.Command
	path string
}

func leafCommands(cmds []*cli.Command, parent string) []leafCommand {
	var out []leafCommand
	for _, c := range cmds {
		path := strings.TrimSpace(parent + " " + c.Name)
		if len(c.Subcommands) > 0 {
			out = append(out, leafCommands(c.Subcommands, path)...)
		} else if !c.Hidden {
			out = append(out, leafCommand{c, path})
		}
	}
	return out
}

// sampleFlag picks a flag of the command and a value for it ("" for a
// bool); a command without flags gets the global --dry-run.
func sampleFlag(cmd *cli.Command) (string, string) {
	for _, f := range cmd.Flags {
		switch f.(type) {
		case *cli.BoolFlag:
			return f.Names()[0], ""
		case *cli.StringFlag, *cli.StringSliceFlag:
			return f.Names()[0], "v1"
		case *cli.IntFlag:
			return f.Names()[0], "7"
		}
	}
	return flagDryRun, ""
}

type captured struct {
	args  []string
	value string
}

// captureRun runs the CLI with every action replaced by one that records
// the arguments and a flag's value.
func captureRun(t *testing.T, args []string, flag, value string) captured {
	t.Helper()
	app := newApp(io.Discard, io.Discard)
	var seen captured
	replaceActions(app.Commands, func(c *cli.Context) error {
		seen.args = c.Args().Slice()
		switch {
		case value == "":
			seen.value = boolString(c.Bool(flag))
		case c.IsSet(flag):
			seen.value = strings.Join(c.StringSlice(flag), ",")
			if seen.value == "" {
				seen.value = c.String(flag)
			}
			if seen.value == "" {
				seen.value = c.Value(flag).(interface{ String() string }).String()
			}
		}
		return nil
	})
	var stderr bytes.Buffer
	app.ErrWriter = &stderr
	if err := app.RunContext(context.Background(), reorderArgs(app, append([]string{"berth"}, args...))); err != nil {
		t.Fatalf("berth %s: %v %s", strings.Join(args, " "), err, stderr.String())
	}
	return seen
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func replaceActions(cmds []*cli.Command, action cli.ActionFunc) {
	for _, c := range cmds {
		c.Before = nil
		if c.Action != nil {
			c.Action = action
		}
		replaceActions(c.Subcommands, action)
	}
}

// TestConfigServicesAfterArgument is the issue's own case: the flag after
// a service name is a flag, not a service called --services.
func TestConfigServicesAfterArgument(t *testing.T) {
	dir := t.TempDir()
	compose := "services:\n  a:\n    image: busybox\n  b:\n    image: busybox\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	isolateEnv(t)
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"berth", "config", "a", "--services"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != "a\n" {
		t.Errorf("config a --services printed %q, want %q", stdout.String(), "a\n")
	}
}
