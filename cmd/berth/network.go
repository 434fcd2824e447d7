package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func networkCommand() *cli.Command {
	return &cli.Command{
		Name:  "network",
		Usage: "List and remove the project's networks",
		Subcommands: []*cli.Command{
			{
				Name:    "ls",
				Aliases: []string{"list"},
				Usage:   "List the project's networks",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display network names"},
				},
				Action: runNetworkLs,
			},
			{
				Name:      "rm",
				Usage:     "Remove networks of the project that no container is attached to",
				UsageText: "berth network rm NETWORK...",
				Action:    runNetworkRm,
			},
		},
	}
}

// networkRow has the keys `docker network ls --format json` uses, plus the
// subnets berth allocated.
type networkRow struct {
	Name     string            `json:"Name"`
	ID       string            `json:"ID"`
	Driver   string            `json:"Driver"`
	Internal bool              `json:"Internal"`
	Subnets  []string          `json:"Subnets"`
	Labels   map[string]string `json:"Labels"`
}

func runNetworkLs(c *cli.Context) error {
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	nets, err := eng.ProjectNetworks(name)
	if err != nil {
		return err
	}
	rows := []networkRow{}
	for _, n := range nets {
		row := networkRow{Name: n.Name, ID: n.Bridge, Driver: "bridge", Internal: n.Internal, Labels: n.Labels, Subnets: []string{}}
		for _, sn := range n.Subnets {
			row.Subnets = append(row.Subnets, sn.Subnet.String())
		}
		rows = append(rows, row)
	}
	w := c.App.Writer
	switch {
	case c.Bool("quiet"):
		for _, r := range rows {
			fmt.Fprintln(w, r.Name)
		}
	case c.String("format") == "json":
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSUBNETS\tINTERNAL")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\tbridge\t%s\t%v\n", r.ID, r.Name, strings.Join(r.Subnets, ","), r.Internal)
		}
		return tw.Flush()
	}
	return nil
}

func runNetworkRm(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr{fmt.Errorf("network rm needs at least one network name")}
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	return eng.RemoveNetworks(c.Context, name, c.Args().Slice(), func(n string) { fmt.Fprintln(c.App.Writer, n) })
}
