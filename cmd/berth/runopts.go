package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

// runImageFlags decide how run gets the service's image and what it prints
// meanwhile.
func runImageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "build", Usage: "build the image before starting the container"},
		&cli.StringFlag{Name: "pull", Usage: "pull the image before running: `POLICY` always, missing or never (default: the service's pull_policy)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "don't print progress (pulls, dependencies, creation)"},
		&cli.BoolFlag{Name: "quiet-build", Usage: "suppress the build's progress output"},
		&cli.BoolFlag{Name: "quiet-pull", Usage: "pull without printing progress information"},
	}
}

// runEnv is -e with --env-from-file: the files' variables where -e does
// not set them; -e KEY alone passes the caller's KEY, or nothing when it is
// unset, as Docker does.
func runEnv(c *cli.Context) ([]string, error) {
	env := resolveEnv(c.StringSlice("env"))
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, file := range c.StringSlice("env-from-file") {
		vars, err := project.ReadEnvFile(file, os.LookupEnv)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !set[k] {
				env, set[k] = append(env, k+"="+vars[k]), true
			}
		}
	}
	return env, nil
}

// resolveEnv turns KEY into KEY=VALUE from the caller's environment, and
// drops it when the caller has no KEY.
func resolveEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		} else if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	return out
}

// applyRunService applies what run changes in the service itself:
// --cap-add and --cap-drop.
func applyRunService(c *cli.Context, p *types.Project, name string) error {
	s, err := p.GetService(name)
	if err != nil {
		return fmt.Errorf("no such service: %s", name)
	}
	s.CapAdd = append(slices.Clone(s.CapAdd), c.StringSlice("cap-add")...)
	s.CapDrop = append(slices.Clone(s.CapDrop), c.StringSlice("cap-drop")...)
	p.Services[name] = s
	return nil
}

// prepareRunImage builds (--build) or pulls (--pull always) the service's
// image before the run; --pull never refuses a missing image. Without them
// the run builds or pulls what is missing, as up does.
func prepareRunImage(c *cli.Context, eng *service.Engine, p *types.Project, name string) error {
	s := p.Services[name]
	if c.Bool("build") && s.Build != nil {
		bopts, err := buildOptions(c)
		if err != nil {
			return err
		}
		if c.Bool("quiet-build") {
			bopts.Progress = "quiet"
		}
		_, err = eng.Build(c.Context, p, service.BuildRequest{Services: []string{name}, Options: bopts})
		return err
	}
	ref := project.ImageName(p.Name, s)
	switch c.String("pull") {
	case "always":
		return eng.Runtime.PullAll(c.Context, []string{ref}, eng.Progress)
	case "never":
		if _, err := eng.Runtime.ImageConfig(c.Context, ref); err != nil {
			return fmt.Errorf("service %q: image %s is not present and --pull never was given: %w", name, ref, err)
		}
		return nil
	}
	return nil
}
