package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/network/netspec"
	"github.com/berth-dev/berth/service"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Usage:     "List the project's containers",
		UsageText: "berth ps [OPTIONS] [SERVICE...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers, stopped ones included"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display IDs"},
			&cli.BoolFlag{Name: "services", Usage: "display services"},
			&cli.StringSliceFlag{Name: "status", Usage: "filter by `STATUS`: created, running, paused, restarting, exited, dead"},
			&cli.StringFlag{Name: "filter", Usage: "filter by a property (`status=running`)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "orphans", Value: true, Usage: "include containers of services the Compose file does not declare (--orphans=false leaves them out)"},
		},
		Action: runPs,
	}
}

// psRow has Docker Compose's `ps --format json` keys.
type psRow struct {
	Command      string      `json:"Command"`
	CreatedAt    string      `json:"CreatedAt"`
	ExitCode     int         `json:"ExitCode"`
	Health       string      `json:"Health"`
	ID           string      `json:"ID"`
	Image        string      `json:"Image"`
	Labels       string      `json:"Labels"`
	LocalVolumes string      `json:"LocalVolumes"`
	Mounts       string      `json:"Mounts"`
	Name         string      `json:"Name"`
	Names        string      `json:"Names"`
	Networks     string      `json:"Networks"`
	Ports        string      `json:"Ports"`
	Project      string      `json:"Project"`
	Publishers   []publisher `json:"Publishers"`
	RunningFor   string      `json:"RunningFor"`
	Service      string      `json:"Service"`
	Size         string      `json:"Size"`
	State        string      `json:"State"`
	Status       string      `json:"Status"`
}

type publisher struct {
	URL           string `json:"URL"`
	TargetPort    int    `json:"TargetPort"`
	PublishedPort int    `json:"PublishedPort"`
	Protocol      string `json:"Protocol"`
}

func runPs(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" {
		return usageErr{fmt.Errorf("unsupported format %q: use table or json", format)}
	}
	statuses, err := psStatuses(c)
	if err != nil {
		return err
	}
	name, err := projectName(c)
	if err != nil {
		return err
	}
	declared, err := declaredServices(c)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	cs, err := eng.Containers(c.Context, name)
	if err != nil {
		return err
	}
	var rows []psRow
	for _, ctr := range cs {
		if !psSelected(c, ctr, statuses) || declared != nil && !slices.Contains(declared, ctr.Service) {
			continue
		}
		rows = append(rows, newPsRow(eng, name, ctr))
	}
	return printPs(c, rows, format)
}

func psStatuses(c *cli.Context) ([]string, error) {
	statuses := c.StringSlice("status")
	if f := c.String("filter"); f != "" {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != "status" {
			return nil, usageErr{fmt.Errorf("unsupported filter %q: only status=STATUS is supported", f)}
		}
		statuses = append(statuses, v)
	}
	for _, s := range statuses {
		switch s {
		case "created", "running", "paused", "restarting", "exited", "dead", "removing":
		default:
			return nil, usageErr{fmt.Errorf("invalid status %q: use created, running, paused, restarting, exited, dead or removing", s)}
		}
	}
	return statuses, nil
}

func psSelected(c *cli.Context, ctr service.Container, statuses []string) bool {
	if c.NArg() > 0 && !slices.Contains(c.Args().Slice(), ctr.Service) {
		return false
	}
	if len(statuses) > 0 {
		return slices.Contains(statuses, ctr.State)
	}
	return c.Bool("all") || ctr.Running()
}

func newPsRow(eng *service.Engine, projectName string, ctr service.Container) psRow {
	row := psRow{
		Command:      strconv.Quote(ctr.Command),
		CreatedAt:    ctr.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		ExitCode:     ctr.ExitCode,
		ID:           ctr.ID,
		Image:        ctr.Image,
		Labels:       joinLabels(ctr.Labels),
		LocalVolumes: "0",
		Name:         ctr.Name,
		Names:        ctr.Name,
		Networks:     strings.Join(ctr.Networks, ","),
		Project:      projectName,
		Publishers:   publishersOf(ctr.Ports),
		RunningFor:   ago(ctr.Created),
		Service:      ctr.Service,
		Size:         "0B",
		State:        ctr.State,
	}
	if h := eng.ReadHealth(ctr.Name); h != nil && ctr.Running() {
		row.Health = h.Status
	}
	row.Status = statusText(ctr, row.Health)
	row.Ports = portsText(row.Publishers)
	return row
}

// statusText is Docker's STATUS column: "Up 5 seconds (healthy)",
// "Exited (0) 3 seconds ago", "Created".
func statusText(ctr service.Container, health string) string {
	switch ctr.State {
	case service.StateRunning, service.StatePaused:
		s := "Up " + units.HumanDuration(time.Since(ctr.StartedAt))
		if ctr.State == service.StatePaused {
			s += " (Paused)"
		}
		if health != "" {
			s += " (" + health + ")"
		}
		return s
	case service.StateExited:
		if ctr.ExitedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", ctr.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", ctr.ExitCode, units.HumanDuration(time.Since(ctr.ExitedAt)))
	}
	return "Created"
}

func ago(t time.Time) string { return units.HumanDuration(time.Since(t)) + " ago" }

func joinLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

// publishersOf is ps's Publishers of the ports a container recorded.
func publishersOf(ports []netspec.PortMapping) []publisher {
	out := []publisher{}
	for _, p := range ports {
		url := p.HostIP
		if url == "" {
			url = "0.0.0.0"
		}
		out = append(out, publisher{URL: url, TargetPort: int(p.ContainerPort), PublishedPort: int(p.HostPort), Protocol: protocolOf(p.Protocol)})
	}
	return out
}

func protocolOf(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func portsText(pubs []publisher) string {
	parts := make([]string, len(pubs))
	for i, p := range pubs {
		parts[i] = fmt.Sprintf("%s:%d->%d/%s", p.URL, p.PublishedPort, p.TargetPort, p.Protocol)
	}
	return strings.Join(parts, ", ")
}

func printPs(c *cli.Context, rows []psRow, format string) error {
	w := c.App.Writer
	switch {
	case c.Bool("quiet"):
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
	case c.Bool("services"):
		var seen []string
		for _, r := range rows {
			if !slices.Contains(seen, r.Service) {
				seen = append(seen, r.Service)
				fmt.Fprintln(w, r.Service)
			}
		}
	case format == "json":
		// one compact object per line, as Docker Compose prints
		for _, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
	default:
		return psTable(w, rows, !c.Bool("no-trunc"))
	}
	return nil
}

func psTable(w io.Writer, rows []psRow, trunc bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
	for _, r := range rows {
		command := r.Command
		if trunc {
			command = truncate(command, 22)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Image, command, r.Service, r.RunningFor, r.Status, r.Ports)
	}
	return tw.Flush()
}

// truncate shortens a quoted command as Docker does, keeping the quotes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-2] + "…\""
}
