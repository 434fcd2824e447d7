package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "Pull service images",
		UsageText: "berth pull [OPTIONS] [SERVICE...]",
		Description: "Pulls the images of the services (all of them, or those named) in parallel from their registries.\n" +
			"Registries on localhost or 127.0.0.1 are reached over plain HTTP, as Docker does; credentials come\n" +
			"from ~/.docker/config.json; per-registry settings from the hosts directory (--hosts-dir).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "pull without printing progress information"},
			&cli.BoolFlag{Name: "ignore-pull-failures", Usage: "pull what it can and ignore images with pull failures"},
			&cli.BoolFlag{Name: "ignore-buildable", Usage: "ignore images that can be built"},
			&cli.StringFlag{Name: "policy", Usage: "pull `POLICY`: missing (only images not present) or always"},
			&cli.BoolFlag{Name: "include-deps", Usage: "also pull the images of the services the named ones depend on"},
		},
		Action: runPull,
	}
}

func runPull(c *cli.Context) error {
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	opts.NoDeps = !c.Bool("include-deps")
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	// images a build: can make are pulled apart: their failure is a hint, not an error
	var refs, buildable, buildServices []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Image == "" || s.PullPolicy == types.PullPolicyBuild {
			continue
		}
		if s.Build != nil {
			if !c.Bool("ignore-buildable") && !slices.Contains(buildable, s.Image) {
				buildable = append(buildable, s.Image)
				buildServices = append(buildServices, name)
			}
			continue
		}
		if !slices.Contains(refs, s.Image) {
			refs = append(refs, s.Image)
		}
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	if refs, buildable, err = pullPolicy(c, client, refs, buildable); err != nil {
		return err
	}
	disp, err := display(c, c.Bool("quiet"))
	if err != nil {
		return usageErr{err}
	}
	err = client.PullAll(c.Context, refs, disp)
	var buildErr error
	if len(buildable) > 0 && c.Context.Err() == nil {
		buildErr = client.PullAll(c.Context, buildable, disp)
	}
	disp.Stop()
	if buildErr != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: some service image(s) must be built from source by running:\n    berth build %s\n", strings.Join(buildServices, " "))
	}
	if err != nil && c.Bool("ignore-pull-failures") {
		fmt.Fprintln(c.App.ErrWriter, "warning:", err)
		return nil
	}
	return err
}

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "Manage images in berth's containerd namespace",
		Subcommands: []*cli.Command{
			{
				Name:      "load",
				Usage:     "Load an image from a tar archive (docker save or OCI layout) or stdin",
				UsageText: "berth image load [-i FILE]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read from tar archive `FILE` instead of stdin"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the load output"},
				},
				Action: runImageLoad,
			},
		},
	}
}

func runImageLoad(c *cli.Context) error {
	var in io.Reader = os.Stdin
	if path := c.String("input"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("load image: %w", err)
		}
		defer f.Close()
		in = f
	} else if isTerminal(os.Stdin) {
		return usageErr{fmt.Errorf("requested load from stdin, but stdin is a terminal: use -i FILE or redirect a file")}
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	names, err := client.Load(c.Context, in, nil)
	if err != nil {
		return err
	}
	if !c.Bool("quiet") {
		for _, n := range names {
			fmt.Fprintln(c.App.Writer, "Loaded image:", n)
		}
	}
	return nil
}

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:      "images",
		Usage:     "List the images used by the project's services",
		UsageText: "berth images [OPTIONS] [SERVICE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display image IDs"},
		},
		Action: runImages,
	}
}

// imageRow is one line of `images`, with Docker Compose's JSON keys.
type imageRow struct {
	ID            string    `json:"ID"`
	ContainerName string    `json:"ContainerName"`
	Repository    string    `json:"Repository"`
	Tag           string    `json:"Tag"`
	Platform      string    `json:"Platform"`
	Size          int64     `json:"Size"`
	LastTagTime   time.Time `json:"LastTagTime"`
	service       string
}

func runImages(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" {
		return usageErr{fmt.Errorf("unsupported format %q: use table or json", format)}
	}
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return err
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	rows, err := imageRows(c, client, p)
	if err != nil {
		return err
	}
	return printImages(c.App.Writer, rows, format, c.Bool("quiet"))
}

// imageRows lists each service's image once per container of the service,
// or once with no container name before `up`.
func imageRows(c *cli.Context, client *ctrd.Client, p *types.Project) ([]imageRow, error) {
	containers, err := client.ListContainers(c.Context, map[string]string{project.LabelProject: p.Name})
	if err != nil {
		return nil, err
	}
	rows := []imageRow{}
	for _, name := range p.ServiceNames() {
		info, err := client.ImageInfo(c.Context, project.ImageName(p.Name, p.Services[name]))
		if err != nil {
			if ctrd.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		row := imageRow{ID: info.ID, Repository: info.Repository, Tag: info.Tag, Platform: info.Platform,
			Size: info.Size, LastTagTime: info.Created, service: name}
		added := false
		for _, ctr := range containers {
			if ctr.Labels[project.LabelService] == name {
				r := row
				r.ContainerName = ctr.Labels[project.LabelContainerName]
				rows = append(rows, r)
				added = true
			}
		}
		if !added {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

func printImages(w io.Writer, rows []imageRow, format string, quiet bool) error {
	if quiet {
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
		return nil
	}
	if format == "json" {
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tPLATFORM\tIMAGE ID\tSIZE\tCREATED")
	for _, r := range rows {
		id := r.ID
		if len(id) > 19 {
			id = id[7:19]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ContainerName, r.Repository, r.Tag, r.Platform, id,
			progress.HumanSize(r.Size), since(r.LastTagTime))
	}
	return tw.Flush()
}

// since renders a past time as Docker does, "5 minutes ago", "3 years ago".
func since(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return ago(t)
}
