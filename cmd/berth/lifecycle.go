package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/sys/signal"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

// lifecycleCommands are Docker Compose's commands that act on existing
// containers: create, start, stop, restart, kill, rm, pause, unpause, wait,
// top, cp, stats and events.
func lifecycleCommands() []*cli.Command {
	return []*cli.Command{
		createCommand(), startCommand(), stopCommand(), restartCommand(), killCommand(), rmCommand(),
		pauseCommand(), unpauseCommand(), waitCommand(), topCommand(), cpCommand(), statsCommand(), eventsCommand(),
	}
}

func timeoutFlag() cli.Flag {
	return &cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: -1,
		Usage: "shutdown timeout in `SECONDS` (default: the service's stop_grace_period, else 10)"}
}

func timeoutOf(c *cli.Context) *time.Duration {
	if t := c.Int("timeout"); t >= 0 {
		d := time.Duration(t) * time.Second
		return &d
	}
	return nil
}

// lifecycleProject finds the project: from the Compose file, whose
// services the names must be, or from -p alone, as these commands work
// from the containers' labels.
func lifecycleProject(c *cli.Context, services []string) (string, *types.Project, error) {
	opts := loadOptions(c)
	opts.Services = services
	p, err := project.Load(c.Context, opts)
	if err == nil {
		return p.Name, p, nil
	}
	if name := nameWithoutFile(c); name != "" && errors.Is(err, project.ErrNoConfigFile) {
		return name, nil, project.ValidateName(name)
	}
	return "", nil, err
}

type lifecycleFunc func(*service.Engine, context.Context, string, service.LifecycleRequest) (*service.Plan, error)

// runLifecycle runs one of the engine's lifecycle operations on the
// command line's services and prints the plan of a dry run.
func runLifecycle(c *cli.Context, req service.LifecycleRequest, fn lifecycleFunc) (*service.Plan, error) {
	return runLifecycleOn(c, req, fn, false)
}

// runLifecycleOn is runLifecycle; with fileServices, no service named on
// the command line means every service of the Compose file, so that start
// reports those without a container as Docker Compose does.
func runLifecycleOn(c *cli.Context, req service.LifecycleRequest, fn lifecycleFunc, fileServices bool) (*service.Plan, error) {
	name, p, err := lifecycleProject(c, req.Services)
	if err != nil {
		return nil, err
	}
	if fileServices && len(req.Services) == 0 && p != nil {
		req.Services = scaledServices(p)
	}
	req.DryRun = c.Bool(flagDryRun)
	eng, done, err := newEngine(c)
	if err != nil {
		return nil, err
	}
	defer done()
	plan, err := fn(eng, c.Context, name, req)
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	return plan, err
}

// scaledServices leaves out services scaled to zero, which have no
// container by design.
func scaledServices(p *types.Project) []string {
	var out []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.GetScale() != 0 {
			out = append(out, name)
		}
	}
	return out
}

func createCommand() *cli.Command {
	return &cli.Command{
		Name:        "create",
		Usage:       "Create the project's networks, volumes and containers without starting them",
		UsageText:   "berth create [OPTIONS] [SERVICE...]",
		Description: "The same as 'berth up --no-start'.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force-recreate", Usage: "recreate containers even if their configuration and image haven't changed"},
			&cli.BoolFlag{Name: "no-recreate", Usage: "if containers already exist, don't recreate them"},
			&cli.BoolFlag{Name: "remove-orphans", Usage: "remove containers for services not defined in the Compose file"},
			&cli.StringFlag{Name: "pull", Usage: "pull image before running: `POLICY` always, missing or never"},
			&cli.BoolFlag{Name: "build", Usage: "build images before creating containers"},
			&cli.BoolFlag{Name: "no-build", Usage: "don't build an image, even if it's missing"},
			&cli.StringSliceFlag{Name: "scale", Usage: "scale SERVICE to NUM instances (`SERVICE=NUM`)"},
			&cli.BoolFlag{Name: "quiet-pull", Usage: "pull without printing progress information"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "assume yes: recreate volumes whose definition changed (their data is lost)"},
		},
		Action: runCreate,
	}
}

func runCreate(c *cli.Context) error {
	req, err := upRequest(c)
	if err != nil {
		return err
	}
	req.NoStart = true
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	return convergeProject(c, opts, req)
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "Start the services' existing containers",
		UsageText: "berth start [OPTIONS] [SERVICE...]",
		Description: "Starts the stopped containers of the services and of the services they depend on, dependencies\n" +
			"first, waiting for the conditions depends_on names. A service without a container is an error:\n" +
			"create it with 'berth create' or 'berth up'. --wait then waits until every container runs, and is\n" +
			"healthy when it has a health check.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "wait", Usage: "wait for services to be running|healthy"},
			&cli.IntFlag{Name: "wait-timeout", Usage: "maximum duration in `SECONDS` to wait for the project to be running|healthy"},
		},
		Action: runStart,
	}
}

func runStart(c *cli.Context) error {
	services := c.Args().Slice()
	if _, err := runLifecycleOn(c, service.LifecycleRequest{Services: services}, (*service.Engine).Start, true); err != nil {
		return err
	}
	if !c.Bool("wait") || c.Bool(flagDryRun) {
		return nil
	}
	name, p, err := lifecycleProject(c, services)
	if err != nil {
		return err
	}
	return waitReady(c, name, p, services, time.Duration(c.Int("wait-timeout"))*time.Second)
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop the services' containers without removing them",
		UsageText: "berth stop [OPTIONS] [SERVICE...]",
		Description: "Sends each container its stop signal (stop_signal, default SIGTERM), waits for the grace period\n" +
			"(-t, else stop_grace_period, else 10 s), then sends SIGKILL. Dependents stop before their\n" +
			"dependencies, independent services in parallel. The containers stay: 'berth start' runs them again.",
		Flags: []cli.Flag{timeoutFlag()},
		Action: func(c *cli.Context) error {
			_, err := runLifecycle(c, service.LifecycleRequest{Services: c.Args().Slice(), Timeout: timeoutOf(c)}, (*service.Engine).Stop)
			return err
		},
	}
}

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "Restart the services' containers",
		UsageText: "berth restart [OPTIONS] [SERVICE...]",
		Description: "Stops and starts the containers, whatever their state; services that declare\n" +
			"depends_on.<service>.restart: true are restarted with the service they depend on, unless --no-deps.\n" +
			"It does not apply changes of the Compose file: use 'berth up' for that.",
		Flags: []cli.Flag{
			timeoutFlag(),
			&cli.BoolFlag{Name: "no-deps", Usage: "don't restart dependent services"},
		},
		Action: func(c *cli.Context) error {
			req := service.LifecycleRequest{Services: c.Args().Slice(), Timeout: timeoutOf(c), NoDeps: c.Bool("no-deps")}
			_, err := runLifecycle(c, req, (*service.Engine).Restart)
			return err
		},
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "Send a signal to the services' running containers",
		UsageText: "berth kill [OPTIONS] [SERVICE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "SIGKILL", Usage: "`SIGNAL` to send to the container"},
			&cli.BoolFlag{Name: "remove-orphans", Usage: "remove containers for services not defined in the Compose file"},
		},
		Action: runKill,
	}
}

func runKill(c *cli.Context) error {
	sig := c.String("signal")
	if _, err := signal.ParseSignal(sig); err != nil {
		return usageErr{fmt.Errorf("invalid signal %q: %w", sig, err)}
	}
	plan, err := runLifecycle(c, service.LifecycleRequest{Services: c.Args().Slice(), Signal: sig}, (*service.Engine).Kill)
	if err != nil {
		return err
	}
	if plan != nil && len(plan.Ops) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "no container to kill")
	}
	if c.Bool("remove-orphans") {
		return removeOrphans(c)
	}
	return nil
}

// removeOrphans stops and removes the containers of services the Compose
// file does not define.
func removeOrphans(c *cli.Context) error {
	opts := loadOptions(c)
	opts.All = true
	p, err := project.Load(c.Context, opts)
	if err != nil {
		return fmt.Errorf("--remove-orphans needs the Compose file: %w", err)
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	cs, err := eng.Containers(c.Context, p.Name)
	if err != nil {
		return err
	}
	known := append(p.ServiceNames(), p.DisabledServiceNames()...)
	var orphans []string
	for _, ctr := range cs {
		if !slices.Contains(known, ctr.Service) && !slices.Contains(orphans, ctr.Service) {
			orphans = append(orphans, ctr.Service)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	_, err = eng.Remove(c.Context, p.Name, service.LifecycleRequest{Services: orphans, Stop: true, DryRun: c.Bool(flagDryRun)}, nil)
	return err
}

func rmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "Remove the services' stopped containers",
		UsageText: "berth rm [OPTIONS] [SERVICE...]",
		Description: "Removes stopped containers with their network attachments (and with -v their anonymous volumes);\n" +
			"-s stops running ones first. Without -f berth asks for confirmation, as Docker Compose does: on a\n" +
			"terminal with a y/N prompt; otherwise it reads one line from stdin, and anything but y or yes\n" +
			"(an empty stdin included) removes nothing. Scripts should pass -f.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "don't ask to confirm removal"},
			&cli.BoolFlag{Name: "stop", Aliases: []string{"s"}, Usage: "stop the containers, if required, before removing"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove any anonymous volumes attached to containers"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Hidden: true, Usage: "deprecated, no effect"},
		},
		Action: runRm,
	}
}

func runRm(c *cli.Context) error {
	req := service.LifecycleRequest{Services: c.Args().Slice(), Stop: c.Bool("stop"), Volumes: c.Bool("volumes"), DryRun: c.Bool(flagDryRun)}
	name, _, err := lifecycleProject(c, req.Services)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	confirm := func(names []string) (bool, error) {
		msg := "Going to remove " + strings.Join(names, ", ")
		if c.Bool("force") {
			fmt.Fprintln(c.App.Writer, msg)
			return true, nil
		}
		return confirmPrompt(os.Stdin, c.App.Writer, msg)
	}
	plan, err := eng.Remove(c.Context, name, req, confirm)
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	if err == nil && plan != nil && plan.Empty() {
		fmt.Fprintln(c.App.ErrWriter, "No stopped containers")
	}
	return err
}

// confirmPrompt asks a yes/no question, no being the default.
func confirmPrompt(in *os.File, out io.Writer, msg string) (bool, error) {
	prefix := ""
	if isTerminal(in) {
		prefix = "? "
	}
	fmt.Fprintf(out, "%s%s (y/N) ", prefix, msg)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read confirmation: %w", err)
	}
	if !strings.HasSuffix(line, "\n") {
		fmt.Fprintln(out)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes", "true", "1":
		return true, nil
	}
	return false, nil
}

func pauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "Pause the services' running containers",
		UsageText: "berth pause [SERVICE...]",
		Action: func(c *cli.Context) error {
			_, err := runLifecycle(c, service.LifecycleRequest{Services: c.Args().Slice()}, (*service.Engine).Pause)
			return err
		},
	}
}

func unpauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpause",
		Usage:     "Unpause the services' paused containers",
		UsageText: "berth unpause [SERVICE...]",
		Action: func(c *cli.Context) error {
			_, err := runLifecycle(c, service.LifecycleRequest{Services: c.Args().Slice()}, (*service.Engine).Unpause)
			return err
		},
	}
}

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "Block until the services' containers stop, then exit with the first one's exit code",
		UsageText: "berth wait [OPTIONS] SERVICE [SERVICE...]",
		Description: "Prints a line per container as it exits; containers that had already exited count first.\n" +
			"--down-project takes the whole project down as soon as the first container exits.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "down-project", Usage: "drop the project when the first container stops"},
		},
		Action: runWait,
	}
}

func runWait(c *cli.Context) error {
	services := c.Args().Slice()
	if len(services) == 0 {
		return usageErr{errors.New("wait needs at least one service")}
	}
	name, p, err := lifecycleProject(c, services)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	first, downErr := -1, error(nil)
	err = eng.Wait(c.Context, name, services, func(r service.WaitResult) {
		fmt.Fprintf(c.App.Writer, "container %q exited with status code %d\n", r.Container.ID, r.ExitCode)
		if first >= 0 {
			return
		}
		first = r.ExitCode
		if c.Bool("down-project") {
			_, downErr = eng.Down(c.Context, name, service.DownRequest{Project: p, RemoveOrphans: true})
		}
	})
	if err = errors.Join(err, downErr); err != nil {
		return err
	}
	if first != 0 {
		return exitCodeErr{first}
	}
	return nil
}

func topCommand() *cli.Command {
	return &cli.Command{
		Name:      "top",
		Usage:     "Display the running processes of the services' containers",
		UsageText: "berth top [SERVICE...]",
		Action:    runTop,
	}
}

func runTop(c *cli.Context) error {
	services := c.Args().Slice()
	name, _, err := lifecycleProject(c, services)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	lists, err := eng.Top(c.Context, name, services)
	if err != nil {
		return err
	}
	w := c.App.Writer
	for _, l := range lists {
		fmt.Fprintln(w, l.Name)
		tw := tabwriter.NewWriter(w, 4, 1, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(l.Titles, "\t"))
		for _, p := range l.Processes {
			fmt.Fprintln(tw, strings.Join(p, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:  "cp",
		Usage: "Copy files or folders between a service container and the local filesystem",
		UsageText: "berth cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n" +
			"berth cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Description: "Copies files and directories recursively with their modes, by docker cp's rules. '-' is a tar\n" +
			"stream on stdout or stdin. Container paths are relative to the container's root, and symlinks in them\n" +
			"resolve inside the container. Copying from a service reads its first container (or --index);\n" +
			"copying to it writes every replica (or --index). The container must be running.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "index", Usage: "`INDEX` of the container if the service has several replicas"},
			&cli.BoolFlag{Name: "archive", Aliases: []string{"a"}, Usage: "archive mode (copy all uid/gid information)"},
			&cli.BoolFlag{Name: "follow-link", Aliases: []string{"L"}, Usage: "always follow symbol link in SRC_PATH"},
			&cli.BoolFlag{Name: "all", Usage: "include containers created by the run command"},
		},
		Action: runCp,
	}
}

func runCp(c *cli.Context) error {
	req, err := cpRequest(c)
	if err != nil {
		return err
	}
	name, _, err := lifecycleProject(c, []string{req.Service})
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	return eng.Copy(c.Context, name, req)
}

func cpRequest(c *cli.Context) (service.CopyRequest, error) {
	if c.NArg() != 2 {
		return service.CopyRequest{}, usageErr{errors.New("cp needs a source and a destination, one of them SERVICE:PATH")}
	}
	srcSvc, srcPath, fromCtr := splitCpArg(c.Args().Get(0))
	dstSvc, dstPath, toCtr := splitCpArg(c.Args().Get(1))
	req := service.CopyRequest{Index: c.Int("index"), Oneoffs: c.Bool("all"), Archive: c.Bool("archive"),
		FollowLink: c.Bool("follow-link"), ToContainer: toCtr, Stdin: os.Stdin, Stdout: c.App.Writer}
	switch {
	case fromCtr && toCtr:
		return req, usageErr{errors.New("copying between services is not supported")}
	case !fromCtr && !toCtr:
		return req, usageErr{errors.New("one of the paths must be SERVICE:PATH (a local path with a colon needs a ./ or / prefix)")}
	case toCtr:
		req.Service, req.ContainerPath, req.HostPath = dstSvc, dstPath, srcPath
	default:
		req.Service, req.ContainerPath, req.HostPath = srcSvc, srcPath, dstPath
	}
	switch {
	case req.Service == "" || req.ContainerPath == "":
		return req, usageErr{errors.New("SERVICE:PATH needs both a service and a path")}
	case req.HostPath == "":
		return req, usageErr{errors.New("the local path is empty")}
	case req.Index < 0:
		return req, usageErr{fmt.Errorf("invalid --index %d", req.Index)}
	}
	return req, nil
}

// splitCpArg reads SERVICE:PATH as docker cp does: an absolute path or one
// starting with "." is local even with a colon in it.
func splitCpArg(arg string) (svc, p string, inContainer bool) {
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	svc, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg, false
	}
	return svc, p, true
}

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "Display a live stream of the services' resource usage",
		UsageText: "berth stats [OPTIONS] [SERVICE...]",
		Description: "CPU % is one core's time over the last second; memory leaves out inactive file cache, as Docker\n" +
			"does; NET I/O is the container's interfaces but loopback. Ctrl-C ends the stream.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "`FORMAT`: table, json, 'table TEMPLATE' or a Go template"},
			&cli.BoolFlag{Name: "no-stream", Usage: "disable streaming stats and only pull the first result"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate output (berth never does)"},
		},
		Action: runStats,
	}
}

func runStats(c *cli.Context) error {
	tmpl, table, err := statsTemplate(c.String("format"))
	if err != nil {
		return err
	}
	services := c.Args().Slice()
	name, _, err := lifecycleProject(c, services)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	req := service.StatsRequest{Services: services, All: c.Bool("all"), NoStream: c.Bool("no-stream")}
	w := c.App.Writer
	redraw := !req.NoStream && isTerminal(w)
	return eng.Stats(c.Context, name, req, func(stats []service.ContainerStats) error {
		if redraw {
			fmt.Fprint(w, "\033[2J\033[H")
		}
		return printStats(w, stats, tmpl, table)
	})
}

// statsRow has the fields of docker stats' templates; `--format json`
// prints it as one object per line.
type statsRow struct {
	BlockIO   string `json:"BlockIO"`
	CPUPerc   string `json:"CPUPerc"`
	Container string `json:"Container"`
	ID        string `json:"ID"`
	MemPerc   string `json:"MemPerc"`
	MemUsage  string `json:"MemUsage"`
	Name      string `json:"Name"`
	NetIO     string `json:"NetIO"`
	PIDs      string `json:"PIDs"`
}

// statsHeader renders a table template's header, as Docker's does.
var statsHeader = statsRow{BlockIO: "BLOCK I/O", CPUPerc: "CPU %", Container: "CONTAINER", ID: "CONTAINER ID",
	MemPerc: "MEM %", MemUsage: "MEM USAGE / LIMIT", Name: "NAME", NetIO: "NET I/O", PIDs: "PIDS"}

const defaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

func newStatsRow(s service.ContainerStats) statsRow {
	return statsRow{
		BlockIO:   decimalSize(s.BlockRead) + " / " + decimalSize(s.BlockWrite),
		CPUPerc:   fmt.Sprintf("%.2f%%", s.CPUPercent),
		Container: s.Name,
		ID:        s.ID,
		MemPerc:   fmt.Sprintf("%.2f%%", s.MemPercent),
		MemUsage:  binarySize(s.MemUsage) + " / " + binarySize(s.MemLimit),
		Name:      s.Name,
		NetIO:     decimalSize(s.NetRx) + " / " + decimalSize(s.NetTx),
		PIDs:      strconv.FormatUint(s.PIDs, 10),
	}
}

// statsTemplate parses --format: table (the default), json, "table
// TEMPLATE" or a template per line.
func statsTemplate(format string) (*template.Template, bool, error) {
	return formatTemplate("stats", defaultStatsFormat, format)
}

// formatTemplate parses a Docker-style --format: "table" (defaultTable), "json", "table
// TEMPLATE" or a template per line; it says whether the output is a table.
func formatTemplate(name, defaultTable, format string) (*template.Template, bool, error) {
	switch format {
	case "", "table":
		format = defaultTable
	case "json":
		format = "{{json .}}"
	}
	rest, table := strings.CutPrefix(format, "table")
	if table {
		format = strings.TrimSpace(rest)
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New(name).Funcs(template.FuncMap{"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}}).Parse(format)
	if err != nil {
		return nil, false, usageErr{fmt.Errorf("invalid --format: %w", err)}
	}
	return t, table, nil
}

func printStats(w io.Writer, stats []service.ContainerStats, tmpl *template.Template, table bool) error {
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		if err := tmpl.Execute(out, statsHeader); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	for _, s := range stats {
		if err := tmpl.Execute(out, newStatsRow(s)); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// decimalSize is Docker's units.HumanSizeWithPrecision(n, 3): 1.23kB.
func decimalSize(n uint64) string {
	return unitSize(float64(n), 1000, []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}, "%.3g%s")
}

// binarySize is Docker's units.BytesSize: 1.5MiB.
func binarySize(n uint64) string {
	return unitSize(float64(n), 1024, []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}, "%.4g%s")
}

func unitSize(size, base float64, units []string, format string) string {
	i := 0
	for size >= base && i < len(units)-1 {
		size /= base
		i++
	}
	return fmt.Sprintf(format, size, units[i])
}

func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "Receive real time events from the services' containers",
		UsageText: "berth events [OPTIONS] [SERVICE...]",
		Description: "Streams containerd's events for the project's containers until Ctrl-C or --until: create, start,\n" +
			"die (with exitCode), pause, unpause, oom, destroy and the exec events. containerd reports no kill or\n" +
			"stop events: a stop shows as die. containerd keeps no history either: events before the command\n" +
			"started cannot be shown, so --since only leaves out what comes before a time still to come.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "output events as a stream of json objects"},
			&cli.StringFlag{Name: "since", Usage: "show the events from `TIME` (2013-01-02T13:23:37Z, Unix seconds, or 42m for 42 minutes ago)"},
			&cli.StringFlag{Name: "until", Usage: "stream events until `TIME`, then exit (same forms as --since)"},
		},
		Action: runEvents,
	}
}

func runEvents(c *cli.Context) error {
	since, until, err := eventsWindow(c)
	if err != nil {
		return err
	}
	services := c.Args().Slice()
	name, _, err := lifecycleProject(c, services)
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	w := c.App.Writer
	asJSON := c.Bool("json")
	// --until cancels the stream itself: a deadline on the subscription
	// could end it, with its own error, a moment before the deadline's
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	var untilCame atomic.Bool
	if !until.IsZero() {
		stop := time.AfterFunc(time.Until(until), func() { untilCame.Store(true); cancel() })
		defer stop.Stop()
	}
	err = eng.WatchEvents(ctx, name, services, func(ev service.ContainerEvent) error {
		if ev.Time.Before(since) || !until.IsZero() && ev.Time.After(until) {
			return nil
		}
		line, err := formatEvent(ev, asJSON)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, line)
		return err
	})
	if untilCame.Load() {
		return nil
	}
	return err
}

// eventsWindow reads --since and --until; a --since in the past gets a
// warning, as containerd cannot replay what happened before.
func eventsWindow(c *cli.Context) (since, until time.Time, err error) {
	if since, err = parseLogTime(c.String("since")); err != nil {
		return since, until, usageErr{fmt.Errorf("invalid --since: %w", err)}
	}
	if until, err = parseLogTime(c.String("until")); err != nil {
		return since, until, usageErr{fmt.Errorf("invalid --until: %w", err)}
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return since, until, usageErr{errors.New("--until is before --since")}
	}
	if !since.IsZero() && time.Until(since) < -time.Second {
		warn(c, "containerd keeps no event history: berth shows the events from now on")
	}
	return since, until, nil
}

// formatEvent renders an event as Docker Compose does: a line
// "2006-01-02 15:04:05.000000 container start ID (name=..., image=...)" or
// a JSON object.
func formatEvent(ev service.ContainerEvent, asJSON bool) (string, error) {
	if asJSON {
		b, err := json.Marshal(map[string]any{
			"time": ev.Time, "type": "container", "action": ev.Action,
			"id": ev.ID, "service": ev.Service, "attributes": ev.Attributes,
		})
		return string(b), err
	}
	var attrs []string
	for _, k := range []string{"name", "image"} {
		if v, ok := ev.Attributes[k]; ok {
			attrs = append(attrs, k+"="+v)
		}
	}
	var rest []string
	for k, v := range ev.Attributes {
		if k != "name" && k != "image" {
			rest = append(rest, k+"="+v)
		}
	}
	slices.Sort(rest)
	attrs = append(attrs, rest...)
	return fmt.Sprintf("%s container %s %s (%s)", ev.Time.Local().Format("2006-01-02 15:04:05.000000"),
		ev.Action, ev.ID, strings.Join(attrs, ", ")), nil
}
