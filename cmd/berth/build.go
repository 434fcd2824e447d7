package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

const flagBuildkit = "buildkit-address"

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "Build or rebuild services",
		UsageText: "berth build [OPTIONS] [SERVICE...]",
		Description: "Builds the images of the services that have a build: section (all of them, or those named) with\n" +
			"BuildKit, in parallel, straight into berth's containerd namespace. The image is the service's image:\n" +
			"when set, else <project>-<service>. berth starts its own buildkitd on demand (under the data root,\n" +
			"containerd worker) unless --buildkit-address or BUILDKIT_HOST names one. A later 'up' recreates the\n" +
			"containers of the services whose image changed, and only those.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "build-arg", Usage: "set build-time variables (`KEY=VALUE`, or KEY to take it from the environment)"},
			&cli.BoolFlag{Name: "no-cache", Usage: "do not use cache when building the image"},
			&cli.BoolFlag{Name: "pull", Usage: "always attempt to pull a newer version of the image"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "don't print anything to stdout"},
			&cli.StringFlag{Name: "progress", Usage: "build progress `TYPE`: auto, tty, plain, quiet or rawjson (default: the global --progress)"},
			&cli.BoolFlag{Name: "with-dependencies", Usage: "also build the images of the services the named ones depend on"},
			&cli.BoolFlag{Name: "push", Usage: "push the images once built (as 'berth push')"},
		},
		Action: runBuild,
	}
}

func runBuild(c *cli.Context) error {
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	bopts, err := buildOptions(c)
	if err != nil {
		return err
	}
	bopts.Pull = c.Bool("pull") // up's --pull is a pull policy, not this
	eng := &service.Engine{
		Builder: newBuilder(c),
		Warn:    func(msg string) { fmt.Fprintln(c.App.ErrWriter, "warning:", msg) },
	}
	services := c.Args().Slice()
	if c.Bool("with-dependencies") {
		services = nil // every service loaded: the named ones and their dependencies
	}
	if _, err = eng.Build(c.Context, p, service.BuildRequest{Services: services, Options: bopts}); err != nil || !c.Bool("push") {
		return err
	}
	return pushBuilt(c, p)
}

// pushBuilt is build --push: berth push of what was just built.
func pushBuilt(c *cli.Context, p *types.Project) error {
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	disp, err := display(c, c.Bool("quiet"))
	if err != nil {
		return usageErr{err}
	}
	defer disp.Stop()
	_, err = eng.Push(c.Context, p, service.PushRequest{Sink: disp})
	return err
}

// buildOptions reads the flags build, up and create share.
func buildOptions(c *cli.Context) (build.Options, error) {
	o := build.Options{
		Progress: c.String(flagProgress),
		NoCache:  c.Bool("no-cache"),
	}
	if c.Bool("quiet") {
		o.Progress = "quiet"
	}
	switch o.Progress {
	case "", "auto", "tty", "plain", "quiet", "rawjson":
	default:
		return o, usageErr{fmt.Errorf("invalid --progress %q: use auto, tty, plain, quiet or rawjson", o.Progress)}
	}
	for _, kv := range c.StringSlice("build-arg") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			var set bool
			if v, set = os.LookupEnv(k); !set {
				continue // as Docker: KEY alone, unset, passes nothing
			}
		}
		if k == "" {
			return o, usageErr{fmt.Errorf("invalid --build-arg %q: use KEY=VALUE", kv)}
		}
		if o.Args == nil {
			o.Args = map[string]string{}
		}
		o.Args[k] = v
	}
	return o, nil
}

// buildkitDaemon is berth's buildkitd for the data root and namespace in use, or the
// one --buildkit-address / BUILDKIT_HOST names.
func buildkitDaemon(c *cli.Context) build.Daemon {
	return build.Daemon{
		Address:    c.String(flagBuildkit),
		Root:       filepath.Join(stateRoot(c), "buildkit"),
		Containerd: c.String(flagAddress),
		Namespace:  c.String(flagNamespace),
		Binary:     os.Getenv("BERTH_BUILDKITD"),
	}
}

func newBuilder(c *cli.Context) *build.Builder {
	b := &build.Builder{Daemon: buildkitDaemon(c), Out: c.App.ErrWriter}
	if c.Bool("quiet-build") {
		b.Out = nil // up and run --quiet-build: the build's errors still come back
	}
	return b
}

func builderCommand() *cli.Command {
	return &cli.Command{
		Name:  "builder",
		Usage: "Manage berth's BuildKit daemon and its build cache",
		Subcommands: []*cli.Command{
			{
				Name:      "prune",
				Usage:     "Remove build cache",
				UsageText: "berth builder prune [-a]",
				Description: "Removes BuildKit's build cache that no build uses. With -a, all of it and the build history,\n" +
					"which leaves no BuildKit lease or snapshot in the namespace. Built images stay (down --rmi removes them).",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all build cache and history, not just dangling records"},
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation (berth never prompts here)"},
				},
				Action: func(c *cli.Context) error {
					res, err := buildkitDaemon(c).Prune(c.Context, c.Bool("all"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "Total reclaimed space: %s (%d cache records, %d build records)\n",
						units.HumanSize(float64(res.Bytes)), res.Records, res.History)
					return nil
				},
			},
			{
				Name:      "stop",
				Usage:     "Stop berth's own buildkitd",
				UsageText: "berth builder stop",
				Description: "Stops the buildkitd berth started for this data root and namespace (the next build starts it\n" +
					"again). A buildkitd named by --buildkit-address is not berth's to stop.",
				Action: func(c *cli.Context) error { return buildkitDaemon(c).Stop() },
			},
		},
	}
}
