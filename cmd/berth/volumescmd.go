package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
	"text/template"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

func volumesCommand() *cli.Command {
	return &cli.Command{
		Name:      "volumes",
		Usage:     "List the project's volumes",
		UsageText: "berth volumes [OPTIONS] [SERVICE...]",
		Description: "Lists the volumes berth made for the project, as 'docker compose volumes' does; with services,\n" +
			"only the volumes their containers mount. 'berth volume ls' and 'volume rm' are berth's own.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`FORMAT`: table, json, 'table TEMPLATE' or a Go template"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display volume names"},
		},
		Action: runVolumes,
	}
}

func runVolumes(c *cli.Context) error {
	tmpl, table, err := volumesTemplate(c.String("format"))
	if err != nil {
		return err
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	vols, err := eng.ProjectVolumes(name)
	if err != nil {
		return err
	}
	if services := c.Args().Slice(); len(services) > 0 {
		if err := knownServices(c, services); err != nil {
			return err
		}
		if vols, err = eng.VolumesOfServices(c.Context, name, vols, services); err != nil {
			return err
		}
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
	if c.Bool("quiet") {
		for _, v := range vols {
			fmt.Fprintln(c.App.Writer, v.Name)
		}
		return nil
	}
	return printVolumes(c.App.Writer, vols, tmpl, table)
}

// knownServices refuses services the Compose file does not have, as Docker Compose
// does (without a file, with -p, every name is taken as it is).
func knownServices(c *cli.Context, services []string) error {
	if c.String(flagProject) != "" {
		return nil
	}
	p, err := project.Load(c.Context, loadOptions(c))
	if err != nil {
		return err
	}
	for _, s := range services {
		if !slices.Contains(p.ServiceNames(), s) {
			return fmt.Errorf("no such service: %s", s)
		}
	}
	return nil
}

// volumeSummary has the fields of `docker volume ls` templates; --format
// json prints it as one object per line, as Docker Compose does.
type volumeSummary struct {
	Availability string `json:"Availability"`
	Driver       string `json:"Driver"`
	Group        string `json:"Group"`
	Labels       string `json:"Labels"`
	Links        string `json:"Links"`
	Mountpoint   string `json:"Mountpoint"`
	Name         string `json:"Name"`
	Scope        string `json:"Scope"`
	Size         string `json:"Size"`
	Status       string `json:"Status"`
}

var volumesHeader = volumeSummary{Availability: "AVAILABILITY", Driver: "DRIVER", Group: "GROUP", Labels: "LABELS",
	Links: "LINKS", Mountpoint: "MOUNTPOINT", Name: "VOLUME NAME", Scope: "SCOPE", Size: "SIZE", Status: "STATUS"}

func newVolumeSummary(v volumes.Volume) volumeSummary {
	return volumeSummary{Availability: "N/A", Driver: "local", Group: "N/A", Labels: joinLabels(v.Labels), Links: "N/A",
		Mountpoint: v.Mountpoint, Name: v.Name, Scope: "local", Size: "N/A", Status: "N/A"}
}

func volumesTemplate(format string) (*template.Template, bool, error) {
	return formatTemplate("volumes", "table {{.Driver}}\t{{.Name}}", format)
}

func printVolumes(w io.Writer, vols []volumes.Volume, tmpl *template.Template, table bool) error {
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		if err := execLine(out, tmpl, volumesHeader); err != nil {
			return err
		}
	}
	for _, v := range vols {
		if err := execLine(out, tmpl, newVolumeSummary(v)); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func execLine(w io.Writer, tmpl *template.Template, data any) error {
	if err := tmpl.Execute(w, data); err != nil {
		return usageErr{fmt.Errorf("invalid --format: %w", err)}
	}
	_, err := fmt.Fprintln(w)
	return err
}
