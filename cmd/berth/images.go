package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
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
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	disp, err := display(c, c.Bool("quiet"))
	if err != nil {
		return usageErr{err}
	}
	missing, err := pullPolicyMissing(c.String("policy"))
	if err != nil {
		disp.Stop()
		return err
	}
	buildServices, buildErr, err := eng.Pull(c.Context, p, service.PullRequest{IgnoreBuildable: c.Bool("ignore-buildable"), Missing: missing, Sink: disp})
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
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	names, err := eng.LoadImages(c.Context, in)
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
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	images, err := eng.ServiceImages(c.Context, p)
	if err != nil {
		return err
	}
	rows := []imageRow{}
	for _, im := range images {
		info := im.Image
		rows = append(rows, imageRow{ID: info.ID, Repository: info.Repository, Tag: info.Tag, Platform: info.Platform,
			Size: info.Size, LastTagTime: info.Created, ContainerName: im.Container, service: im.Service})
	}
	return printImages(c.App.Writer, rows, format, c.Bool("quiet"))
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
