package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ls",
		Usage: "List the projects in berth's containerd namespace",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all projects, stopped ones included"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display project names"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.StringSliceFlag{Name: "filter", Usage: "filter by a property: `name=REGEXP` (repeatable)"},
		},
		Action: runLs,
	}
}

// lsRow has Docker Compose's `ls --format json` keys.
type lsRow struct {
	Name        string `json:"Name"`
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
	running     bool
}

func runLs(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" {
		return usageErr{fmt.Errorf("unsupported format %q: use table or json", format)}
	}
	match, err := lsFilter(c.StringSlice("filter"))
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	projects, err := eng.Projects(c.Context)
	if err != nil {
		return err
	}
	rows := []lsRow{}
	for _, p := range projects {
		st := p.States
		row := lsRow{Name: p.Name, Status: statusSummary(st), ConfigFiles: strings.Join(p.ConfigFiles, ","), running: st["running"] > 0}
		if (row.running || c.Bool("all")) && match(p.Name) {
			rows = append(rows, row)
		}
	}
	w := c.App.Writer
	switch {
	case c.Bool("quiet"):
		for _, r := range rows {
			fmt.Fprintln(w, r.Name)
		}
	case format == "json":
		b, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tCONFIG FILES")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Status, r.ConfigFiles)
		}
		return tw.Flush()
	}
	return nil
}

// statusSummary is "exited(1), running(2)": each state with its count.
func statusSummary(st map[string]int) string {
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s(%d)", k, st[k])
	}
	return strings.Join(parts, ", ")
}
