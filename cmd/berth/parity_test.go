package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// refFlagKinds maps the value types of Docker Compose's CLI reference (pflag's
// type names) to the urfave/cli flag that takes the same values. bytes is a
// size such as 512m, which berth parses itself; list and filter are
// repeatable, as stringArray is.
var refFlagKinds = map[string]string{
	"bool":        "*cli.BoolFlag",
	"int":         "*cli.IntFlag",
	"string":      "*cli.StringFlag",
	"bytes":       "*cli.StringFlag",
	"stringArray": "*cli.StringSliceFlag",
	"list":        "*cli.StringSliceFlag",
	"filter":      "*cli.StringSliceFlag",
}

// refCommand is one YAML file of the reference.
type refCommand struct {
	Command         string      `yaml:"command"`
	Options         []refOption `yaml:"options"`
	Hidden          bool        `yaml:"hidden"`
	Deprecated      bool        `yaml:"deprecated"`
	Experimental    bool        `yaml:"experimental"`
	ExperimentalCLI bool        `yaml:"experimentalcli"`
}

type refOption struct {
	Option          string `yaml:"option"`
	Shorthand       string `yaml:"shorthand"`
	ValueType       string `yaml:"value_type"`
	Hidden          bool   `yaml:"hidden"`
	Deprecated      bool   `yaml:"deprecated"`
	Experimental    bool   `yaml:"experimental"`
	ExperimentalCLI bool   `yaml:"experimentalcli"`
}

func (c refCommand) counted() bool {
	return !c.Hidden && !c.Deprecated && !c.Experimental && !c.ExperimentalCLI
}

func (o refOption) counted() bool {
	return !o.Hidden && !o.Deprecated && !o.Experimental && !o.ExperimentalCLI
}

// path is the command without "docker compose": "" for the root, "bridge convert".
func (c refCommand) path() string {
	return strings.TrimSpace(strings.TrimPrefix(c.Command, "docker compose"))
}

// compatRow is one row of the table in docs/compat.md.
type compatRow struct {
	command, option, status, reason string
	used                            bool
}

// TestCLIParityWithDockerCompose checks every command and option of Docker
// Compose's own CLI reference against berth's command line: each is there
// with the same name, shorthand and kind of value, or docs/compat.md lists it
// as not supported or planned, with the reason.
func TestCLIParityWithDockerCompose(t *testing.T) {
	refs := loadReference(t, findReference(t))
	rows := loadCompatTable(t, filepath.Join(pkgDir, "..", "..", "docs", "compat.md"))
	app := newApp(io.Discard, io.Discard)
	var cmds, cmdsHave, opts, optsHave int
	for _, ref := range refs {
		if !ref.counted() {
			continue
		}
		path := ref.path()
		cmd, flags := berthCommand(app, path)
		row := rows[compatKey(path, "")]
		if path != "" {
			cmds++
			switch {
			case cmd != nil && row != nil:
				t.Errorf("docs/compat.md lists %q as %s, but berth has the command: drop the row", path, row.status)
			case cmd != nil:
				cmdsHave++
			case row != nil:
				row.used = true
			default:
				t.Errorf("berth has no command %q and docs/compat.md does not list it", path)
			}
		}
		for _, o := range ref.Options {
			if !o.counted() {
				continue
			}
			opts++
			if cmd == nil && path != "" {
				continue // the command's row covers its options
			}
			if checkOption(t, path, o, flags, rows[compatKey(path, o.Option)]) {
				optsHave++
			}
		}
	}
	for _, r := range rows {
		if !r.used {
			t.Errorf("docs/compat.md lists %s %s, which is not in Docker Compose's reference or needs no row", r.command, r.option)
		}
	}
	t.Logf("commands: berth has %d of %d; options: %d of %d", cmdsHave, cmds, optsHave, opts)
	if cmds < 35 || opts < 150 {
		t.Fatalf("the reference has %d commands and %d options: too few, is it complete?", cmds, opts)
	}
}

// checkOption reports whether berth has the option; when it does not, the
// table must list it.
func checkOption(t *testing.T, path string, o refOption, flags []cli.Flag, row *compatRow) bool {
	t.Helper()
	where := strings.TrimSpace("berth " + path)
	f := findFlag(flags, o.Option)
	if f == nil {
		if row == nil {
			t.Errorf("%s has no --%s and docs/compat.md does not list it", where, o.Option)
			return false
		}
		row.used = true
		return false
	}
	if row != nil {
		t.Errorf("docs/compat.md lists %s --%s as %s, but berth has it: drop the row", where, o.Option, row.status)
	}
	want, ok := refFlagKinds[o.ValueType]
	if !ok {
		t.Errorf("%s --%s: reference value type %q has no urfave/cli kind: add it to refFlagKinds", where, o.Option, o.ValueType)
	} else if got := fmt.Sprintf("%T", f); got != want {
		t.Errorf("%s --%s is a %s; Docker Compose's takes %s values (%s)", where, o.Option, got, o.ValueType, want)
	}
	if o.Shorthand != "" && !slices.Contains(f.Names(), o.Shorthand) {
		t.Errorf("%s --%s lacks Docker Compose's shorthand -%s", where, o.Option, o.Shorthand)
	}
	return true
}

// berthCommand finds a command by its reference path ("" is the app) and
// the flags it accepts.
func berthCommand(app *cli.App, path string) (*cli.Command, []cli.Flag) {
	if path == "" {
		return nil, app.Flags
	}
	cmds := app.Commands
	var found *cli.Command
	for _, name := range strings.Fields(path) {
		found = nil
		for _, c := range cmds {
			if c.HasName(name) && !c.Hidden {
				found = c
			}
		}
		if found == nil {
			return nil, nil
		}
		cmds = found.Subcommands
	}
	return found, found.Flags
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// findReference finds Docker Compose's CLI reference beside the repository
// (../shared in CI), or beside a parent of it (a git worktree's checkout).
func findReference(t *testing.T) string {
	t.Helper()
	root := filepath.Join(pkgDir, "..", "..")
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		ref := filepath.Join(dir, "shared", "reference", "docker-compose-cli")
		if _, err := os.Stat(filepath.Join(ref, "docker_compose.yaml")); err == nil {
			return ref
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	msg := "Docker Compose's CLI reference not found at ../shared/reference/docker-compose-cli beside the repository"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func loadReference(t *testing.T, dir string) []refCommand {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "docker_compose*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no reference files in %s: %v", dir, err)
	}
	var refs []refCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ref refCommand
		if err := yaml.Unmarshal(b, &ref); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// an alpha subcommand is a preview whatever its own flags say
		if strings.HasPrefix(ref.path(), "alpha") {
			ref.ExperimentalCLI = true
		}
		refs = append(refs, ref)
	}
	return refs
}

var compatCell = regexp.MustCompile("`([^`]*)`")

// loadCompatTable reads the one table of docs/compat.md whose header starts
// with "| command | option | status |": a row per command or option berth
// does not have, with a status of "not supported" or "planned" and a reason.
func loadCompatTable(t *testing.T, path string) map[string]*compatRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*compatRow{}
	inTable := false
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| command | option | status |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 4 {
			t.Fatalf("%s:%d: want 4 cells: %s", path, i+1, line)
		}
		r := &compatRow{command: cellText(cells[0]), option: strings.TrimPrefix(cellText(cells[1]), "--"),
			status: strings.TrimSpace(cells[2]), reason: strings.TrimSpace(strings.Join(cells[3:], "|"))}
		if r.command == "(global)" {
			r.command = ""
		}
		if r.status != "not supported" && r.status != "planned" {
			t.Errorf("%s:%d: status %q: want \"not supported\" or \"planned\"", path, i+1, r.status)
		}
		if len(r.reason) < 10 {
			t.Errorf("%s:%d: say why and what berth does instead", path, i+1)
		}
		if r.status == "planned" && !strings.Contains(r.reason, "issue ") {
			t.Errorf("%s:%d: a planned row names the issue that plans it", path, i+1)
		}
		key := compatKey(r.command, r.option)
		if rows[key] != nil {
			t.Errorf("%s:%d: %s listed twice", path, i+1, key)
		}
		rows[key] = r
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no table with the header | command | option | status | reason |", path)
	}
	return rows
}

// cellText is the first `code` span of a cell (an option cell may say
// "`--memory`, `-m`"), or the cell's text.
func cellText(cell string) string {
	if m := compatCell.FindStringSubmatch(cell); m != nil {
		return strings.TrimSpace(m[1])
	}
	return strings.TrimSpace(cell)
}

func compatKey(command, option string) string {
	return strings.TrimSpace(command) + " --" + option
}
