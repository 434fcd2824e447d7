package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
)

// printConfigList prints one of config's lists, one item per line, sorted
// (Docker Compose prints map order; berth prints services dependencies first).
func printConfigList(c *cli.Context, list string, opts project.LoadOptions) error {
	var names []string
	var err error
	switch list {
	case "variables":
		return printVariables(c, opts)
	case "services":
		names, err = serviceList(c, opts)
	case "hash":
		names, err = serviceHashes(c, opts)
	default:
		names, err = projectList(c, list, opts)
	}
	if err != nil || c.Bool("quiet") {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(c.App.Writer, n)
	}
	return nil
}

// serviceList gives the services dependencies first; with --no-interpolate
// the raw model's, by name. A missing env_file does not matter here.
func serviceList(c *cli.Context, opts project.LoadOptions) ([]string, error) {
	if opts.NoInterpolate {
		model, err := project.LoadModel(c.Context, opts)
		if err != nil {
			return nil, err
		}
		services, _ := model["services"].(map[string]any)
		return slices.Sorted(maps.Keys(services)), nil
	}
	opts.NoEnvResolution = true
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return nil, err
	}
	g, err := project.NewGraph(p)
	if err != nil {
		return nil, err
	}
	return g.StartOrder(), nil
}

func projectList(c *cli.Context, list string, opts project.LoadOptions) ([]string, error) {
	// names need no env_file, as Docker Compose's lists do not
	opts.NoEnvResolution = list == "volumes" || list == "networks" || list == "models" || list == "environment"
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return nil, err
	}
	var names []string
	switch list {
	case "volumes":
		names = p.VolumeNames()
	case "networks":
		names = p.NetworkNames()
	case "models":
		for _, key := range slices.Sorted(maps.Keys(p.Models)) {
			if m := p.Models[key].Model; m != "" {
				names = append(names, m)
			}
		}
	case "profiles":
		names = allProfiles(p)
	case "images":
		for _, name := range p.ServiceNames() {
			names = append(names, project.ImageName(p.Name, p.Services[name]))
		}
	case "environment":
		names = p.Environment.Values()
	}
	return names, nil
}

// serviceHashes prints "SERVICE HASH" for the services --hash names ("*"
// for all): the hash berth records in the config-hash label, so a script
// can tell whether up would recreate a container.
func serviceHashes(c *cli.Context, opts project.LoadOptions) ([]string, error) {
	var services []string
	if h := c.String("hash"); h != "*" {
		services = strings.Split(h, ",")
	}
	opts.Services, opts.NoEnvResolution = nil, true
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return nil, err
	}
	// an unrelated service's broken env_file does not prevent the hash
	if p, err = p.WithSelectedServices(services, types.IgnoreDependencies); err != nil {
		return nil, err
	}
	if p, err = p.WithServicesEnvironmentResolved(true); err != nil {
		return nil, err
	}
	var lines []string
	for _, name := range p.ServiceNames() {
		hash, err := project.ServiceHash(p.Services[name])
		if err != nil {
			return nil, err
		}
		lines = append(lines, name+" "+hash)
	}
	return lines, nil
}

// printVariables prints the variables the files use: a table by default,
// or --format json or yaml, as Docker Compose does.
func printVariables(c *cli.Context, opts project.LoadOptions) error {
	if len(opts.Services) > 0 {
		warn(c, "service filtering is not applied when --variables is set, variables from the full model will be rendered")
	}
	vars, err := project.Variables(c.Context, opts)
	if err != nil || c.Bool("quiet") {
		return err
	}
	w := c.App.Writer
	switch c.String("format") {
	case "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(vars); err != nil {
			return err
		}
		_, err = w.Write(buf.Bytes())
		return err
	case "yaml":
		b, err := yaml.Marshal(vars)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(w, 20, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE")
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\n", name, v.Required, v.DefaultValue, v.PresenceValue)
	}
	return tw.Flush()
}

// digestResolver asks the registries, through the hosts directory and
// docker's credentials as pull does.
func digestResolver(c *cli.Context) func(reference.Named) (digest.Digest, error) {
	opts := ctrd.Options{HostsDir: c.String(flagHostsDir)}
	return func(named reference.Named) (digest.Digest, error) {
		return ctrd.ResolveDigest(c.Context, opts, named.String())
	}
}

// resolveDigests pins every image to its registry's digest
// (--resolve-image-digests); images already pinned stay as they are.
func resolveDigests(c *cli.Context, p *types.Project) (*types.Project, error) {
	return p.WithImagesResolved(digestResolver(c))
}

// resolveModelDigests does the same on the uninterpolated model, and with
// lock keeps only the services' images.
func resolveModelDigests(c *cli.Context, model map[string]any, lock bool) error {
	services, _ := model["services"].(map[string]any)
	p := &types.Project{Services: types.Services{}}
	for name, s := range services {
		image, _ := s.(map[string]any)["image"].(string)
		svc := types.ServiceConfig{Name: name}
		svc.Image = image
		p.Services[name] = svc
	}
	p, err := resolveDigests(c, p)
	if err != nil {
		return err
	}
	for name, s := range services {
		svc := s.(map[string]any)
		if image := p.Services[name].Image; image != "" {
			svc["image"] = image
		}
		if lock {
			services[name] = map[string]any{"image": svc["image"]}
		}
	}
	if lock {
		clear(model)
		model["services"] = services
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
