package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
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
			"when it ends, Ctrl-C included. The service's ports are not published unless --service-ports.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "rm", Usage: "automatically remove the container when it exits"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the container in the background and print its name"},
			&cli.BoolFlag{Name: "no-tty", Aliases: []string{"T", "no-TTY"}, Usage: "disable pseudo-TTY allocation (default: auto-detected)"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Value: true, Usage: "keep STDIN open even if not attached"},
			&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set environment variables (`KEY=VALUE`)"},
			&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "run as specified `USER`"},
			&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` inside the container"},
			&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind mount a `VOLUME`"},
			&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish a container's `PORT`(s) to the host"},
			&cli.BoolFlag{Name: "service-ports", Usage: "run with the service's ports enabled and mapped to the host"},
			&cli.BoolFlag{Name: "no-deps", Usage: "don't start linked services"},
			&cli.StringFlag{Name: "name", Usage: "assign a `NAME` to the container"},
			&cli.StringFlag{Name: "entrypoint", Usage: "override the entrypoint of the image (`CMD`)"},
			&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "add or override a `KEY=VALUE` label"},
		},
		Action: runRun,
	}
}

func runRun(c *cli.Context) error {
	if c.NArg() < 1 {
		return usageErr{fmt.Errorf("run needs a service")}
	}
	p, err := project.Load(c.Context, loadOptions(c))
	if err != nil {
		return err
	}
	req, err := runRequest(c)
	if err != nil {
		return err
	}
	if req.Name == "" {
		req.Name = service.NewOneoffName(p.Name, req.Service)
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
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
	req := service.RunRequest{
		Service: args[0], Command: args[1:], Env: c.StringSlice("env"), User: c.String("user"),
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
	tty := !c.Bool("no-TTY") && isTerminal(os.Stdin) && isTerminal(c.App.Writer)
	req.Streams = ctrd.Streams{Stdout: c.App.Writer, Stderr: c.App.ErrWriter, Tty: tty}
	if c.Bool("interactive") && !req.Detach && !isDevNull(os.Stdin) {
		req.Streams.Stdin = os.Stdin
	}
	if tty {
		req.Streams.Stderr = nil
	}
	return req, nil
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
