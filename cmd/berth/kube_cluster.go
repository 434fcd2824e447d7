//go:build !kubeplugin

package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/kubeapply"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
)

// kubeClusterCommands run the converted project on a cluster: up, diff, ps,
// logs, down.
func kubeClusterCommands() []*cli.Command {
	return []*cli.Command{kubeUpCommand(), kubeDiffCommand(), kubePsCommand(), kubeLogsCommand(), kubeDownCommand()}
}

// clusterFlags are kubectl's: which kubeconfig, context and namespace.
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kubeconfig", Usage: "`PATH` of the kubeconfig (default: $KUBECONFIG, or ~/.kube/config)"},
		&cli.StringFlag{Name: "context", Usage: "kubeconfig `CONTEXT` to use (default: the current one)"},
		&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "`NAMESPACE` to run in (default: the context's, or default)"},
	}
}

func kubeUpCommand() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "Apply the project to a Kubernetes cluster (server-side apply, as an ApplySet)",
		UsageText: "berth kube up [OPTIONS] [SERVICE...]",
		Description: "Converts the project as 'berth kube convert' does and applies it with the field manager berth.\n" +
			"Jobs other services depend on are applied first and waited for. Objects of the project that left\n" +
			"the Compose file are pruned (not with SERVICE arguments); claims are kept. See docs/kubernetes.md.",
		Flags: append(append(clusterFlags(),
			&cli.BoolFlag{Name: "wait", Usage: "wait until the workloads are available and the Jobs complete"},
			&cli.IntFlag{Name: "wait-timeout", Usage: "maximum `SECONDS` of each wait (0: no limit)"},
			&cli.BoolFlag{Name: "force-conflicts", Usage: "take over fields another field manager owns"},
			&cli.BoolFlag{Name: "create-namespace", Usage: "create the namespace if it does not exist"},
		), conversionFlags()...),
		Action: runKubeUp,
	}
}

func kubeDiffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "Show what 'berth kube up' would change (a server-side dry run); exit 1 when something would",
		UsageText: "berth kube diff [OPTIONS] [SERVICE...]",
		Flags: append(append(clusterFlags(),
			&cli.BoolFlag{Name: "force-conflicts", Usage: "dry-run as up --force-conflicts"},
		), conversionFlags()...),
		Action: runKubeDiff,
	}
}

func kubePsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Usage:     "List the project's pods on the cluster",
		UsageText: "berth kube ps [OPTIONS] [SERVICE...]",
		Flags: append(clusterFlags(),
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display pod UIDs"},
			&cli.BoolFlag{Name: "services", Usage: "display services"},
		),
		Action: runKubePs,
	}
}

func kubeLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "Show the logs of the project's pods on the cluster",
		UsageText: "berth kube logs [OPTIONS] [SERVICE...]",
		Flags: append(clusterFlags(),
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output"},
			&cli.StringFlag{Name: "tail", Value: "all", Usage: "number of lines to show from the end of each pod's log"},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "show timestamps"},
			&cli.BoolFlag{Name: "no-log-prefix", Usage: "don't print prefix in logs"},
			&cli.BoolFlag{Name: "no-color", Usage: "produce monochrome output"},
		),
		Action: runKubeLogs,
	}
}

func kubeDownCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "Delete the project's objects from the cluster",
		UsageText: "berth kube down [OPTIONS]",
		Flags: append(clusterFlags(),
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "also delete the claims of the project's volumes (their data)"},
			&cli.IntFlag{Name: "timeout", Usage: "maximum `SECONDS` to wait for the objects to be gone (0: no limit)"},
		),
		Action: runKubeDown,
	}
}

// kubeClient connects with kubectl's flags; progress goes to disp.
func kubeClient(c *cli.Context, sink progress.Sink) (*kubeapply.Client, error) {
	return kubeapply.Connect(kubeapply.Target{
		Kubeconfig: c.String("kubeconfig"), Context: c.String("context"), Namespace: c.String("namespace"),
	}, sink)
}

func tooling() string { return "berth/" + version }

// convertForCluster loads and converts the project for the client's
// namespace. Secrets are embedded: they go from memory to the API server.
func convertForCluster(c *cli.Context, ns string) (string, *kube.Result, error) {
	opts, err := kubeOptions(c)
	if err != nil {
		return "", nil, usageErr{err}
	}
	opts.Namespace, opts.IncludeSecrets = ns, true
	lo := loadOptions(c)
	lo.Services = c.Args().Slice()
	lo.KeepEnvFiles = true
	p, err := project.Load(c.Context, lo)
	if err != nil {
		return "", nil, err
	}
	res, err := kube.Convert(p, opts)
	if err != nil {
		return "", nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
	}
	return p.Name, res, nil
}

func seconds(c *cli.Context, flag string) time.Duration {
	return time.Duration(c.Int(flag)) * time.Second
}

func runKubeUp(c *cli.Context) error {
	disp, err := display(c, false)
	if err != nil {
		return usageErr{err}
	}
	defer disp.Stop()
	client, err := kubeClient(c, disp)
	if err != nil {
		return err
	}
	name, res, err := convertForCluster(c, client.Namespace)
	if err != nil {
		return err
	}
	if c.Bool("create-namespace") {
		if err := client.CreateNamespace(c.Context); err != nil {
			return err
		}
	}
	return client.Up(c.Context, kubeapply.UpOptions{
		Project: name, Objects: res.Objects, ForceConflicts: c.Bool("force-conflicts"),
		Wait: c.Bool("wait"), Timeout: seconds(c, "wait-timeout"), Prune: c.NArg() == 0, Tooling: tooling(),
	})
}

func runKubeDiff(c *cli.Context) error {
	client, err := kubeClient(c, nil)
	if err != nil {
		return kubeDiffFailed(c, err)
	}
	name, res, err := convertForCluster(c, client.Namespace)
	if err != nil {
		return kubeDiffFailed(c, err)
	}
	diffs, err := client.Diff(c.Context, kubeapply.DiffOptions{
		Project: name, Objects: res.Objects, ForceConflicts: c.Bool("force-conflicts"), Prune: c.NArg() == 0,
	})
	if err != nil {
		return kubeDiffFailed(c, err)
	}
	for _, d := range diffs {
		fmt.Fprintf(c.App.Writer, "# %s %s: %s\n%s", d.Kind, d.Name, d.Note, d.Unified)
	}
	if len(diffs) > 0 {
		return exitCodeErr{1}
	}
	return nil
}

// kubeDiffFailed prints err and exits 2, as kubectl diff does on an error
// (1 means a difference).
func kubeDiffFailed(c *cli.Context, err error) error {
	if ue, ok := err.(usageErr); ok {
		return ue
	}
	fmt.Fprintln(c.App.ErrWriter, strings.TrimSpace(err.Error()))
	return exitCodeErr{2}
}

func runKubeDown(c *cli.Context) error {
	disp, err := display(c, false)
	if err != nil {
		return usageErr{err}
	}
	defer disp.Stop()
	client, err := kubeClient(c, disp)
	if err != nil {
		return err
	}
	name, err := projectName(c)
	if err != nil {
		return err
	}
	return client.Down(c.Context, kubeapply.DownOptions{
		Project: name, Volumes: c.Bool("volumes"), Timeout: seconds(c, "timeout"), Tooling: tooling(),
	})
}

// kubePods is the project's pods on the cluster, of the services named (all when
// none is): what kube ps and kube logs show.
func kubePods(c *cli.Context) (*kubeapply.Client, []kubeapply.Pod, error) {
	client, err := kubeClient(c, nil)
	if err != nil {
		return nil, nil, err
	}
	name, err := projectName(c)
	if err != nil {
		return nil, nil, err
	}
	pods, err := client.Pods(c.Context, name)
	if err != nil {
		return nil, nil, err
	}
	pods, err = kubeapply.SelectPods(pods, c.Args().Slice())
	return client, pods, err
}

func runKubePs(c *cli.Context) error {
	format := c.String("format")
	if format != "table" && format != "json" {
		return usageErr{fmt.Errorf("unsupported format %q: use table or json", format)}
	}
	name, err := projectName(c)
	if err != nil {
		return err
	}
	_, pods, err := kubePods(c)
	if err != nil {
		return err
	}
	rows := make([]psRow, len(pods))
	for i, p := range pods {
		rows[i] = kubePsRow(name, p)
	}
	return printPs(c, rows, format)
}

// kubePsRow fills berth ps's row from a pod: the pod's name and UID stand
// for the container's.
func kubePsRow(projectName string, p kubeapply.Pod) psRow {
	row := psRow{
		Command:      fmt.Sprintf("%q", p.Command),
		CreatedAt:    p.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		ExitCode:     p.ExitCode,
		Health:       p.Health,
		ID:           p.UID,
		Image:        p.Image,
		LocalVolumes: "0",
		Name:         p.Name,
		Names:        p.Name,
		Project:      projectName,
		Publishers:   []publisher{},
		RunningFor:   ago(p.Created),
		Service:      p.Service,
		Size:         "0B",
		State:        p.State,
	}
	for _, port := range p.Ports {
		row.Publishers = append(row.Publishers, publisher{URL: port.URL, TargetPort: port.Target, PublishedPort: port.Published, Protocol: port.Protocol})
	}
	row.Ports = portsText(row.Publishers)
	switch p.State {
	case kubeapply.StateRunning:
		row.Status = "Up " + strings.TrimSuffix(ago(p.StartedAt), " ago")
		if p.Health != "" {
			row.Status += " (" + p.Health + ")"
		}
	case kubeapply.StateExited:
		row.Status = fmt.Sprintf("Exited (%d) %s", p.ExitCode, ago(p.ExitedAt))
	default:
		row.Status = "Created"
		if p.Reason != "" {
			row.Status += " (" + p.Reason + ")"
		}
	}
	return row
}

func runKubeLogs(c *cli.Context) error {
	tail := int64(-1)
	if t := c.String("tail"); t != "all" && t != "" {
		n, err := fmt.Sscan(t, &tail)
		if n != 1 || err != nil {
			return usageErr{fmt.Errorf("invalid --tail %q: a number of lines or all", t)}
		}
	}
	client, pods, err := kubePods(c)
	if err != nil {
		return err
	}
	return printKubeLogs(c, client, pods, kubeapply.LogOptions{Follow: c.Bool("follow"), Tail: tail})
}

// printKubeLogs prints each pod's lines with `berth logs`' prefix
// (service-N): in time order, or as they come with --follow.
func printKubeLogs(c *cli.Context, client *kubeapply.Client, pods []kubeapply.Pod, opts kubeapply.LogOptions) error {
	width := 0
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = fmt.Sprintf("%s-%d", p.Service, p.Number)
		width = max(width, len(names[i]))
	}
	color := !c.Bool("no-color") && os.Getenv("NO_COLOR") == "" && isTerminal(c.App.Writer)
	var mu sync.Mutex
	var all []logEntry
	write := func(prefix string, l kubeapply.LogLine) {
		e := logs.Entry{Time: l.Time, Line: l.Text}
		mu.Lock()
		defer mu.Unlock()
		if opts.Follow {
			fmt.Fprint(c.App.Writer, logs.FormatLine(prefix, e, c.Bool("timestamps")))
			return
		}
		all = append(all, logEntry{prefix, e})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		prefix := ""
		if !c.Bool("no-log-prefix") {
			prefix = logs.Prefix(names[i], width, i, color)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = client.StreamLogs(c.Context, p, opts, func(l kubeapply.LogLine) { write(prefix, l) })
		}()
	}
	wg.Wait()
	sortLogEntries(all)
	for _, e := range all {
		fmt.Fprint(c.App.Writer, logs.FormatLine(e.prefix, e.entry, c.Bool("timestamps")))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type logEntry struct {
	prefix string
	entry  logs.Entry
}

func sortLogEntries(all []logEntry) {
	slices.SortStableFunc(all, func(a, b logEntry) int { return a.entry.Time.Compare(b.entry.Time) })
}
