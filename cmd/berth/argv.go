package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// positionalTail lists the commands whose arguments after the service are
// a command line of their own (`exec web ls -l`): their flags end at the
// first argument, as Docker Compose's do.
var positionalTail = []string{"exec", "run"}

// reorderArgs moves a command's flags before its arguments, so that
// `berth up web -d` and `berth logs web -f` mean what they mean to Docker
// Compose, whose commands take flags anywhere; urfave/cli stops at the first
// argument. Global flags stay before the command, as Docker Compose's must be;
// --dry-run, which Docker Compose lets every command take, moves to them.
// Everything after "--" stays an argument. Unknown flags move too, for
// urfave/cli to refuse.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	globals, rest := leadingFlags(app.Flags, args[1:])
	if len(rest) == 0 {
		return args
	}
	cmd := findCommand(app.Commands, rest[0])
	if cmd == nil {
		return args
	}
	path := []string{rest[0]}
	rest = rest[1:]
	for len(cmd.Subcommands) > 0 {
		own, after := leadingFlags(cmd.Flags, rest)
		if len(after) == 0 {
			return args
		}
		sub := findCommand(cmd.Subcommands, after[0])
		if sub == nil {
			return args
		}
		path = append(append(path, own...), after[0])
		cmd, rest = sub, after[1:]
	}
	if slices.Contains(positionalTail, cmd.Name) {
		return args
	}
	flags, hoisted, positional := splitFlags(cmd.Flags, rest)
	out := append([]string{args[0]}, globals...)
	out = append(out, hoisted...)
	out = append(out, path...)
	out = append(out, flags...)
	if len(positional) > 0 {
		// "--" keeps an argument that starts with a dash an argument
		out = append(out, "--")
	}
	return append(out, positional...)
}

// leadingFlags splits off the flags (with their values) that come before
// the first argument.
func leadingFlags(defs []cli.Flag, args []string) (flags, rest []string) {
	values := flagValues(defs)
	i := 0
	for i < len(args) && isFlag(args[i]) {
		n := flagLen(values, args[i:])
		flags = append(flags, args[i:i+n]...)
		i += n
	}
	return flags, args[i:]
}

// splitFlags separates a command's flags from its arguments, wherever they
// are; --dry-run, a global flag, is returned apart when the command does not
// define it.
func splitFlags(defs []cli.Flag, args []string) (flags, hoisted, positional []string) {
	values := flagValues(defs)
	for i := 0; i < len(args); {
		arg := args[i]
		switch {
		case arg == "--":
			return flags, hoisted, append(positional, args[i+1:]...)
		case !isFlag(arg):
			positional = append(positional, arg)
			i++
		default:
			n := flagLen(values, args[i:])
			if _, defined := values[flagName(arg)]; !defined && flagName(arg) == flagDryRun {
				hoisted = append(hoisted, args[i:i+n]...)
			} else {
				flags = append(flags, args[i:i+n]...)
			}
			i += n
		}
	}
	return flags, hoisted, positional
}

// flagValues maps every name of the flags to whether it takes a value.
func flagValues(defs []cli.Flag) map[string]bool {
	values := map[string]bool{"help": false, "h": false}
	for _, f := range defs {
		takes := true
		if v, ok := f.(interface{ TakesValue() bool }); ok {
			takes = v.TakesValue()
		}
		for _, name := range f.Names() {
			values[name] = takes
		}
	}
	return values
}

func isFlag(arg string) bool {
	return len(arg) > 1 && arg[0] == '-' && arg != "--"
}

func flagName(arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name
}

// flagLen is how many arguments the flag at args[0] spans: 2 when its value
// is the next argument. Combined short flags (-dV) take a value when their
// last letter does.
func flagLen(values map[string]bool, args []string) int {
	arg := args[0]
	if strings.Contains(arg, "=") || len(args) < 2 {
		return 1
	}
	name := flagName(arg)
	takes, known := values[name]
	if !known && !strings.HasPrefix(arg, "--") && len(name) > 1 {
		takes = values[name[len(name)-1:]]
	}
	if takes {
		return 2
	}
	return 1
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
