package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func volumeCommand() *cli.Command {
	return &cli.Command{
		Name:  "volume",
		Usage: "List and remove the project's volumes",
		Subcommands: []*cli.Command{
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "List the project's volumes",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display volume names"},
				},
				Action: runVolumeLs,
			},
			{
				Name:      "rm",
				Usage:     "Remove volumes of the project that no container uses",
				UsageText: "berth volume rm VOLUME...",
				Action:    runVolumeRm,
			},
		},
	}
}

// volumeRow is a volume with the keys `docker volume ls --format json` uses.
type volumeRow struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	Labels     map[string]string `json:"Labels"`
	CreatedAt  string            `json:"CreatedAt"`
}

func runVolumeLs(c *cli.Context) error {
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	vols, err := eng.ProjectVolumes(name)
	if err != nil {
		return err
	}
	w := c.App.Writer
	switch {
	case c.Bool("quiet"):
		for _, v := range vols {
			fmt.Fprintln(w, v.Name)
		}
	case c.String("format") == "json":
		rows := []volumeRow{}
		for _, v := range vols {
			rows = append(rows, volumeRow{v.Name, "local", v.Mountpoint, v.Labels, v.Created.Format("2006-01-02T15:04:05Z07:00")})
		}
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
		for _, v := range vols {
			fmt.Fprintf(tw, "local\t%s\n", v.Name)
		}
		return tw.Flush()
	}
	return nil
}

func runVolumeRm(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr{fmt.Errorf("volume rm needs at least one volume name")}
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	return eng.RemoveVolumes(c.Context, name, c.Args().Slice(), func(n string) { fmt.Fprintln(c.App.Writer, n) })
}
