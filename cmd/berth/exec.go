package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

func execCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "Execute a command in a running service container",
		UsageText: "berth exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Description: "Runs COMMAND in the service's container (replica 1, or --index) and exits with its exit code.\n" +
			"A terminal is allocated when stdin is one, unless -T is given.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-tty", Aliases: []string{"T", "no-TTY"}, Usage: "disable pseudo-TTY allocation"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Value: true, Usage: "keep STDIN open"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables (`KEY=VALUE`)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run the command as this `USER`"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "path to `DIR` for the command"},
			&cli.IntFlag{Name: "index", Value: 1, Usage: "`INDEX` of the container if the service has several replicas"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the command in the background"},
			&cli.BoolFlag{Name: "privileged", Usage: "give the command every capability"},
		},
		Action: runExec,
	}
}

func runExec(c *cli.Context) error {
	if c.NArg() < 2 {
		return usageErr{fmt.Errorf("exec needs a service and a command")}
	}
	svc, args := c.Args().First(), c.Args().Slice()[1:]
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	tty := !c.Bool("no-TTY") && (c.Bool("tty") || isTerminal(os.Stdin) && isTerminal(c.App.Writer))
	spec := ctrd.ExecSpec{Args: args, Env: resolveEnv(c.StringSlice("env")), User: c.String("user"), Cwd: c.String("workdir"),
		Tty: tty, Stdout: c.App.Writer, Stderr: c.App.ErrWriter, Privileged: c.Bool("privileged")}
	if c.Bool("interactive") && !c.Bool("detach") {
		spec.Stdin = os.Stdin
	}
	if tty {
		spec.Stderr = nil
		if restore, err := rawTerminal(os.Stdin); err == nil {
			defer restore()
		}
	}
	code, err := eng.Exec(c.Context, name, svc, c.Int("index"), spec)
	if err != nil && code < 0 {
		return err
	}
	if code != 0 {
		return exitCodeErr{code}
	}
	return nil
}

// rawTerminal puts a terminal stdin in raw mode so keys reach the
// container's TTY unprocessed.
func rawTerminal(in *os.File) (func(), error) {
	if !term.IsTerminal(int(in.Fd())) {
		return func() {}, nil
	}
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, err
	}
	return func() { _ = term.Restore(int(in.Fd()), state) }, nil
}

// projectEngine is projectName and the engine, for the commands that work on a
// project's containers by its labels.
func projectEngine(c *cli.Context) (string, *service.Engine, func(), error) {
	name, err := projectName(c)
	if err != nil {
		return "", nil, nil, err
	}
	eng, done, err := newEngine(c)
	return name, eng, done, err
}

// projectName finds the project's name for commands that work from labels and
// need only that: -p when given, else the Compose file's.
func projectName(c *cli.Context) (string, error) {
	// -p wins over the file's name: anyway, and loading the file is most of a ps
	// (compose-go's load is ≈ 25 ms for a small file)
	if name := c.String(flagProject); name != "" {
		return name, project.ValidateName(name)
	}
	p, err := project.Load(c.Context, loadOptions(c))
	if name := nameWithoutFile(c); name != "" && errors.Is(err, project.ErrNoConfigFile) {
		return name, project.ValidateName(name)
	}
	if err != nil {
		return "", err
	}
	return p.Name, nil
}
