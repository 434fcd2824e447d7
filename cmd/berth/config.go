package main

import (
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:      "config",
		Aliases:   []string{"convert"},
		Usage:     "Parse, resolve and render the Compose file in canonical form",
		UsageText: "berth config [OPTIONS] [SERVICE...]",
		Description: "Loads the Compose files (with .env, interpolation, extends, include and profiles), validates\n" +
			"them and prints the normalised model, exactly as 'docker compose config' does. 'convert' is the\n" +
			"same command under Docker Compose's old name.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "output `FORMAT`: yaml or json (--variables: table, yaml or json)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only validate the configuration, print nothing"},
			&cli.BoolFlag{Name: "services", Usage: "print the service names, one per line"},
			&cli.BoolFlag{Name: "volumes", Usage: "print the volume names, one per line"},
			&cli.BoolFlag{Name: "networks", Usage: "print the network names, one per line"},
			&cli.BoolFlag{Name: "models", Usage: "print the model names, one per line"},
			&cli.BoolFlag{Name: "profiles", Usage: "print the profile names, one per line"},
			&cli.BoolFlag{Name: "images", Usage: "print the image names, one per line"},
			&cli.StringFlag{Name: "hash", Usage: "print the config hash of the `SERVICES` (comma-separated, or \"*\"), one per line"},
			&cli.BoolFlag{Name: "variables", Usage: "print the variables the files use, with their default values"},
			&cli.BoolFlag{Name: "environment", Usage: "print the environment used for interpolation"},
			&cli.BoolFlag{Name: "no-interpolate", Usage: "do not interpolate environment variables"},
			&cli.BoolFlag{Name: "no-normalize", Usage: "do not normalize the model (default networks, build contexts, ...)"},
			&cli.BoolFlag{Name: "no-path-resolution", Usage: "do not resolve file paths"},
			&cli.BoolFlag{Name: "no-consistency", Usage: "do not check the model's consistency (references between services, networks, volumes); the output may be invalid"},
			&cli.BoolFlag{Name: "no-env-resolution", Usage: "do not resolve the services' env files into their environment"},
			&cli.BoolFlag{Name: "resolve-image-digests", Usage: "pin image tags to the digests their registries give now"},
			&cli.BoolFlag{Name: "lock-image-digests", Usage: "print an override file that pins every service's image to its digest"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "save to `FILE` instead of stdout"},
		},
		Action: runConfig,
	}
}

// configLists are config's print-one-list flags, in the order Docker
// Compose looks at them.
var configLists = []string{"services", "volumes", "networks", "models", "hash", "profiles", "images", "variables", "environment"}

func runConfig(c *cli.Context) error {
	format := c.String("format")
	switch format {
	case "", "yaml", "json":
	case "table":
		if !c.Bool("variables") {
			return usageErr{fmt.Errorf("unsupported format %q: use yaml or json", format)}
		}
	default:
		return usageErr{fmt.Errorf("unsupported format %q: use yaml or json", format)}
	}
	opts := configLoadOptions(c)
	for _, list := range configLists {
		if list == "hash" && c.String(list) != "" || list != "hash" && c.Bool(list) {
			return printConfigList(c, list, opts)
		}
	}
	if format == "" {
		format = "yaml"
	}
	content, err := renderConfig(c, opts, format)
	if err != nil || c.Bool("quiet") {
		return err
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

// configLoadOptions are the global options with config's own: how much of
// the loading to do.
func configLoadOptions(c *cli.Context) project.LoadOptions {
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	opts.NoInterpolate = c.Bool("no-interpolate")
	opts.NoNormalize = c.Bool("no-normalize") || c.Bool(flagCompat)
	opts.NoPathResolution = c.Bool("no-path-resolution")
	opts.NoConsistency = c.Bool("no-consistency")
	opts.NoEnvResolution = c.Bool("no-env-resolution")
	return opts
}

// renderConfig produces what 'docker compose config' prints: the typed
// model, or with --no-interpolate the raw merged tree.
func renderConfig(c *cli.Context, opts project.LoadOptions, format string) ([]byte, error) {
	resolve := c.Bool("resolve-image-digests") || c.Bool("lock-image-digests")
	if opts.NoInterpolate {
		if len(opts.Services) > 0 {
			warn(c, "service filtering is not applied when --no-interpolate is set, the full model will be rendered")
		}
		model, err := project.LoadModel(c.Context, opts)
		if err != nil {
			return nil, err
		}
		if resolve {
			if err := resolveModelDigests(c, model, c.Bool("lock-image-digests")); err != nil {
				return nil, err
			}
		}
		return project.RenderModel(model, format)
	}
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return nil, err
	}
	if !opts.NoConsistency {
		if err := project.CheckContainerNames(p); err != nil {
			return nil, err
		}
	}
	if resolve {
		if p, err = resolveDigests(c, p); err != nil {
			return nil, err
		}
	}
	if c.Bool("lock-image-digests") {
		p = imagesOnly(p)
	}
	return project.Render(p, format)
}

// imagesOnly keeps what an override file that locks images needs: each
// service's image and its image volumes.
func imagesOnly(p *types.Project) *types.Project {
	services := types.Services{}
	for name, s := range p.Services {
		locked := types.ServiceConfig{Name: name}
		locked.Image = s.Image
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeImage {
				locked.Volumes = append(locked.Volumes, v)
			}
		}
		services[name] = locked
	}
	return &types.Project{Services: services}
}

func warn(c *cli.Context, msg string) {
	fmt.Fprintln(c.App.ErrWriter, "warning:", msg)
}
