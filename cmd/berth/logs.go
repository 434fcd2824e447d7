package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/service"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "View output from containers",
		UsageText: "berth logs [OPTIONS] [SERVICE...]",
		Description: "Prints what the containers wrote, captured from their start whether or not berth was running,\n" +
			"interleaved in time order with a 'service-1  | ' prefix, as Docker Compose does.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"},
			&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: "number of `LINES` to show from the end of the logs of each container"},
			&cli.StringFlag{Name: "since", Usage: "show logs since `TIME` (2013-01-02T13:23:37Z) or relative (42m)"},
			&cli.StringFlag{Name: "until", Usage: "show logs before `TIME` (2013-01-02T13:23:37Z) or relative (42m)"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "show timestamps"},
			&cli.BoolFlag{Name: "no-color", Usage: "produce monochrome output"},
			&cli.BoolFlag{Name: "no-log-prefix", Usage: "don't print prefix in logs"},
			&cli.IntFlag{Name: "index", Usage: "`INDEX` of the container if the service has several replicas"},
		},
		Action: runLogs,
	}
}

// logSource is one container's log with its prefix.
type logSource struct {
	path   string
	prefix string
}

func runLogs(c *cli.Context) error {
	opts, err := logReadOptions(c)
	if err != nil {
		return err
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	cs, err := eng.Containers(c.Context, name)
	if err != nil {
		return err
	}
	sources := logSources(c, eng, selectLogContainers(c, cs))
	if c.Bool("follow") {
		return followLogs(c, sources, opts)
	}
	return printLogs(c, sources, opts)
}

func selectLogContainers(c *cli.Context, cs []service.Container) []service.Container {
	var out []service.Container
	for _, ctr := range cs {
		if c.NArg() > 0 && !slices.Contains(c.Args().Slice(), ctr.Service) {
			continue
		}
		if i := c.Int("index"); i > 0 && (ctr.Number != i || ctr.Oneoff) {
			continue
		}
		out = append(out, ctr)
	}
	return out
}

// logSources gives each container its prefix: service-N as Docker
// Compose prints it, padded to the widest, colours in order.
func logSources(c *cli.Context, eng *service.Engine, cs []service.Container) []logSource {
	names := make([]string, len(cs))
	width := 0
	for i, ctr := range cs {
		names[i] = ctr.Service + "-" + strconv.Itoa(ctr.Number)
		if ctr.Oneoff {
			names[i] = ctr.Name
		}
		width = max(width, len(names[i]))
	}
	color := !c.Bool("no-color") && useColor(c, c.App.Writer)
	out := make([]logSource, len(cs))
	for i, ctr := range cs {
		out[i] = logSource{path: eng.LogPath(ctr.Name)}
		if !c.Bool("no-log-prefix") {
			out[i].prefix = logs.Prefix(names[i], width, i, color)
		}
	}
	return out
}

func logReadOptions(c *cli.Context) (logs.ReadOptions, error) {
	opts := logs.ReadOptions{Tail: -1}
	if t := c.String("tail"); t != "all" && t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return opts, usageErr{fmt.Errorf("invalid --tail %q: a number of lines or all", t)}
		}
		opts.Tail = n
	}
	var err error
	if opts.Since, err = parseLogTime(c.String("since")); err != nil {
		return opts, usageErr{fmt.Errorf("invalid --since: %w", err)}
	}
	if opts.Until, err = parseLogTime(c.String("until")); err != nil {
		return opts, usageErr{fmt.Errorf("invalid --until: %w", err)}
	}
	return opts, nil
}

// parseLogTime reads Docker's forms: a duration back from now, an RFC 3339
// time, or Unix seconds.
func parseLogTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (42m) nor a time (2013-01-02T13:23:37Z)", s)
}

func printLogs(c *cli.Context, sources []logSource, opts logs.ReadOptions) error {
	type tagged struct {
		entry  logs.Entry
		prefix string
	}
	var all []tagged
	for _, src := range sources {
		entries, err := logs.Read(src.path, opts)
		if err != nil {
			return err
		}
		for _, e := range entries {
			all = append(all, tagged{e, src.prefix})
		}
	}
	slices.SortStableFunc(all, func(a, b tagged) int { return a.entry.Time.Compare(b.entry.Time) })
	for _, t := range all {
		writeLogLine(c, t.prefix, t.entry)
	}
	return nil
}

// followLogs prints each container's recent lines and then its new ones
// as they come, until Ctrl-C.
func followLogs(c *cli.Context, sources []logSource, opts logs.ReadOptions) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(sources))
	for _, src := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- logs.Follow(c.Context, src.path, opts, func(e logs.Entry) {
				mu.Lock()
				writeLogLine(c, src.prefix, e)
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeLogLine writes stderr lines to stderr, as Docker Compose does.
func writeLogLine(c *cli.Context, prefix string, e logs.Entry) {
	var w io.Writer = c.App.Writer
	if e.Stream == logs.Stderr {
		w = c.App.ErrWriter
	}
	io.WriteString(w, logs.FormatLine(prefix, e, c.Bool("timestamps")))
}
