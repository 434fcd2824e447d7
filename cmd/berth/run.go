package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "Run a one-off command on a service",
		UsageText: "berth run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Description: "Starts the service's dependencies, then a one-off container of the service named\n" +
			"<project>-<service>-run-<id>, and exits with the command's exit code. --rm removes the container\n" +
			"when it ends, Ctrl-C included. The service's ports are not published unless --service-ports.\n" +
			"A service of a profile that is not enabled is enabled for the run, as Docker Compose does.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "rm", Usage: "automatically remove the container when it exits"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the container in the background and print its name"},
			&cli.BoolFlag{Name: "no-tty", Aliases: []string{"T", "no-TTY"}, Usage: "disable pseudo-TTY allocation (default: auto-detected)"},
			&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY (stdin must then be a terminal, or -i=false)"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Value: true, Usage: "keep STDIN open even if not attached"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables (`KEY=VALUE`, or KEY to pass the caller's)"},
			&cli.StringSliceFlag{Name: "env-from-file", Usage: "set environment variables from `FILE` (dotenv format; -e wins)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run as specified `USER`"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container"},
			&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a `VOLUME`"},
			&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a container's `PORT`(s) to the host"},
			&cli.BoolFlag{Name: "service-ports", Aliases: []string{"P"}, Usage: "run with the service's ports enabled and mapped to the host"},
			&cli.BoolFlag{Name: "no-deps", Usage: "don't start linked services"},
			&cli.StringFlag{Name: "name", Usage: "assign a `NAME` to the container"},
			&cli.StringFlag{Name: "entrypoint", Usage: "override the entrypoint of the image (`CMD`)"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "add or override a `KEY=VALUE` label"},
			&cli.StringSliceFlag{Name: "cap-add", Usage: "add Linux `CAPABILITIES`"},
			&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop Linux `CAPABILITIES`"},
			&cli.BoolFlag{Name: "use-aliases", Usage: "answer to the service's name and network aliases (berth's one-off containers always do)"},
			&cli.BoolFlag{Name: "remove-orphans", Usage: "remove containers for services not defined in the Compose file"},
		}, runImageFlags()...),
		Action: runRun,
	}
}

func runRun(c *cli.Context) error {
	if c.NArg() < 1 {
		return usageErr{fmt.Errorf("run needs a service")}
	}
	opts := loadOptions(c)
	// a service of a disabled profile is enabled by being named
	opts.Services = c.Args().Slice()[:1]
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	req, err := runRequest(c)
	if err != nil {
		return err
	}
	if err := applyRunService(c, p, req.Service); err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = service.NewOneoffName(p.Name, req.Service)
	}
	if c.Bool("remove-orphans") {
		if err := removeOrphans(c); err != nil {
			return err
		}
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	if c.Bool("quiet") {
		eng.Progress = progress.NewQuiet()
	}
	if err := prepareRunImage(c, eng, p, req.Service); err != nil {
		return err
	}
	return startRun(c, eng, p, req)
}

// startRun runs the one-off container and relays its exit code.
func startRun(c *cli.Context, eng *service.Engine, p *types.Project, req service.RunRequest) error {
	if req.Streams.Tty {
		if restore, err := rawTerminal(os.Stdin); err == nil {
			defer restore()
		}
	}
	code, err := eng.Run(c.Context, p, req)
	if err != nil {
		return err
	}
	if req.Detach {
		fmt.Fprintln(c.App.Writer, req.Name)
	}
	if code != 0 {
		return exitCodeErr{code}
	}
	return nil
}

func runRequest(c *cli.Context) (service.RunRequest, error) {
	args := c.Args().Slice()
	env, err := runEnv(c)
	if err != nil {
		return service.RunRequest{}, err
	}
	req := service.RunRequest{
		Service: args[0], Command: args[1:], Env: env, User: c.String("user"),
		WorkDir: c.String("workdir"), Volumes: c.StringSlice("volume"), Ports: c.StringSlice("publish"),
		ServicePorts: c.Bool("service-ports"), NoDeps: c.Bool("no-deps"), Name: c.String("name"),
		Remove: c.Bool("rm"), Detach: c.Bool("detach"), Labels: map[string]string{},
	}
	if c.IsSet("entrypoint") {
		req.Entrypoint = strings.Fields(c.String("entrypoint"))
	}
	for _, l := range c.StringSlice("label") {
		k, v, _ := strings.Cut(l, "=")
		req.Labels[k] = v
	}
	if req.Detach && req.Remove {
		return req, usageErr{fmt.Errorf("--rm and --detach cannot be combined")}
	}
	if req.ServicePorts && len(req.Ports) > 0 {
		return req, usageErr{fmt.Errorf("--service-ports and --publish are incompatible")}
	}
	switch policy := c.String("pull"); policy {
	case "", "always", "missing", "never":
	default:
		return req, usageErr{fmt.Errorf("invalid --pull %q: use always, missing or never", policy)}
	}
	tty, err := runTTY(c)
	if err != nil {
		return req, err
	}
	req.Streams = ctrd.Streams{Stdout: c.App.Writer, Stderr: c.App.ErrWriter, Tty: tty}
	if c.Bool("interactive") && !req.Detach && !isDevNull(os.Stdin) {
		req.Streams.Stdin = os.Stdin
	}
	if tty {
		req.Streams.Stderr = nil
	}
	return req, nil
}

// runTTY decides on a terminal as Docker Compose does: -t or -T when given
// (not both), else one when stdin and stdout are terminals. A terminal fed
// from a pipe cannot work: that is refused with Docker's sentence.
func runTTY(c *cli.Context) (bool, error) {
	switch {
	case c.IsSet("tty") && c.IsSet("no-tty"):
		return false, usageErr{errors.New("--tty and --no-tty can't be used together")}
	case c.IsSet("tty"):
		tty := c.Bool("tty")
		if tty && c.Bool("interactive") && !c.Bool("detach") && !isTerminal(os.Stdin) {
			return false, errors.New("cannot attach stdin to a TTY-enabled container because stdin is not a terminal: drop -t, or pass -i=false")
		}
		return tty, nil
	case c.Bool("no-tty"):
		return false, nil
	}
	return isTerminal(os.Stdin) && isTerminal(c.App.Writer), nil
}

// isDevNull avoids holding a container's stdin open on nothing.
func isDevNull(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(fi, null)
}
