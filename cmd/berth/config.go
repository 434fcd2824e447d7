package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "Parse, resolve and render the Compose file in canonical form",
		UsageText: "berth config [OPTIONS] [SERVICE...]",
		Description: "Loads the Compose files (with .env, interpolation, extends, include and profiles), validates\n" +
			"them and prints the normalised model, exactly as 'docker compose config' does.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "yaml", Usage: "output `FORMAT`: yaml or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only validate the configuration, print nothing"},
			&cli.BoolFlag{Name: "services", Usage: "print the service names, one per line"},
			&cli.BoolFlag{Name: "volumes", Usage: "print the volume names, one per line"},
			&cli.BoolFlag{Name: "networks", Usage: "print the network names, one per line"},
			&cli.BoolFlag{Name: "profiles", Usage: "print the profile names, one per line"},
			&cli.BoolFlag{Name: "images", Usage: "print the image names, one per line"},
			&cli.BoolFlag{Name: "no-interpolate", Usage: "do not interpolate environment variables"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "save to `FILE` instead of stdout"},
		},
		Action: runConfig,
	}
}

func runConfig(c *cli.Context) error {
	format := c.String("format")
	if format != "yaml" && format != "json" {
		return usageErr{fmt.Errorf("unsupported format %q: use yaml or json", format)}
	}
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()

	for _, list := range []string{"services", "volumes", "networks", "profiles", "images"} {
		if c.Bool(list) {
			return printConfigList(c, list, opts)
		}
	}
	content, err := renderConfig(c, opts, format)
	if err != nil {
		return err
	}
	if c.Bool("quiet") {
		return nil
	}
	if out := c.String("output"); out != "" {
		if err := os.WriteFile(out, content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
		return nil
	}
	_, err = c.App.Writer.Write(content)
	return err
}

// renderConfig produces what 'docker compose config' prints: the typed
// model, or with --no-interpolate the raw merged tree.
func renderConfig(c *cli.Context, opts project.LoadOptions, format string) ([]byte, error) {
	if c.Bool("no-interpolate") {
		opts.NoInterpolate = true
		model, err := project.LoadModel(c.Context, opts)
		if err != nil {
			return nil, err
		}
		return project.RenderModel(model, format)
	}
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return nil, err
	}
	if err := p.CheckContainerNameUnicity(); err != nil {
		return nil, err
	}
	return project.Render(p, format)
}

// printConfigList prints one of the name lists of config, sorted (Docker
// Compose prints map order; berth prints services dependencies first).
func printConfigList(c *cli.Context, list string, opts project.LoadOptions) error {
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	var names []string
	switch list {
	case "services":
		g, err := project.NewGraph(p)
		if err != nil {
			return err
		}
		names = g.StartOrder()
	case "volumes":
		names = p.VolumeNames()
	case "networks":
		names = p.NetworkNames()
	case "profiles":
		names = allProfiles(p)
	case "images":
		for _, name := range p.ServiceNames() {
			names = append(names, project.ImageName(p.Name, p.Services[name]))
		}
	}
	if c.Bool("quiet") {
		return nil
	}
	for _, n := range names {
		fmt.Fprintln(c.App.Writer, n)
	}
	return nil
}

func allProfiles(p *types.Project) []string {
	var profiles []string
	for _, s := range p.AllServices() {
		for _, pr := range s.Profiles {
			if !slices.Contains(profiles, pr) {
				profiles = append(profiles, pr)
			}
		}
	}
	slices.Sort(profiles)
	return profiles
}
