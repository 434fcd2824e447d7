package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/volumes"
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

func projectVolumes(c *cli.Context) ([]volumes.Volume, string, error) {
	name, err := projectName(c)
	if err != nil {
		return nil, "", err
	}
	all, err := volumes.NewManager(stateRoot(c)).List()
	if err != nil {
		return nil, "", err
	}
	var out []volumes.Volume
	for _, v := range all {
		if v.Labels[record.LabelProject] == name {
			out = append(out, v)
		}
	}
	return out, name, nil
}

func runVolumeLs(c *cli.Context) error {
	vols, _, err := projectVolumes(c)
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
	vols, projectName, err := projectVolumes(c)
	if err != nil {
		return err
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	infos, err := client.ListContainers(c.Context, map[string]string{record.LabelProject: projectName})
	if err != nil {
		return err
	}
	m := volumes.NewManager(stateRoot(c))
	for _, name := range c.Args().Slice() {
		v, ok := findVolume(vols, name)
		if !ok {
			return fmt.Errorf("volume %q is not a volume of project %q", name, projectName)
		}
		for _, info := range infos {
			mounts, err := client.Mounts(c.Context, info.ID)
			if err != nil {
				return err
			}
			for _, mnt := range mounts {
				if mnt.Source == v.Mountpoint {
					return fmt.Errorf("volume %q is in use by container %s: remove the container first (berth down, or berth rm)", name, info.ID)
				}
			}
		}
		if err := m.Remove(v.Name); err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, v.Name)
	}
	return nil
}

func findVolume(vols []volumes.Volume, name string) (volumes.Volume, bool) {
	for _, v := range vols {
		if v.Name == name {
			return v, true
		}
	}
	return volumes.Volume{}, false
}
