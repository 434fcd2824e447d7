package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "Push service images",
		UsageText: "berth push [OPTIONS] [SERVICE...]",
		Description: "Pushes the images of the services that have both build: and image: (all of them, or those named)\n" +
			"to their registries, with their build.tags, in parallel: what 'berth build' made, from berth's\n" +
			"containerd namespace. Registries on localhost or 127.0.0.1 are reached over plain HTTP, as Docker\n" +
			"does; credentials come from ~/.docker/config.json; per-registry settings from the hosts directory\n" +
			"(--hosts-dir). The dependencies of the named services are pushed only with --include-deps.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "ignore-push-failures", Usage: "push what it can and ignore images with push failures"},
			&cli.BoolFlag{Name: "include-deps", Usage: "also push images of services declared as dependencies"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "push without printing progress information"},
			&cli.StringFlag{Name: "registry", Usage: "push every built image under `HOST/PATH`, as 'berth kube convert --registry' names them"},
		},
		Action: runPush,
	}
}

func runPush(c *cli.Context) error {
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	opts.NoDeps = !c.Bool("include-deps")
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	disp, err := display(c, c.Bool("quiet"))
	if err != nil {
		return usageErr{err}
	}
	skipped, err := eng.Push(c.Context, p, service.PushRequest{Registry: c.String("registry"), Sink: disp})
	why := "no build: with an image: to push"
	if c.String("registry") != "" {
		why = "no build: to push"
	}
	for _, name := range skipped {
		disp.Event(progress.Event{ID: "Service " + name, Status: "Skipped", Text: why, Done: true})
	}
	disp.Stop()
	if err != nil && errors.Is(err, ctrd.ErrImageNotFound) {
		err = fmt.Errorf("%w\nbuild the images first: berth build", err)
	}
	if err != nil && c.Bool("ignore-push-failures") && c.Context.Err() == nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(c.App.ErrWriter, "warning:", line)
		}
		return nil
	}
	return err
}
