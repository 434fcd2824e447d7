package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/companion"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/watch"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
	"github.com/berth-dev/berth/volumes"
)

func upCommand() *cli.Command {
	return &cli.Command{
		Name:      "up",
		Usage:     "Create and start the project's networks, volumes and containers",
		UsageText: "berth up [OPTIONS] [SERVICE...]",
		Description: "Converges the project to the Compose file: creates what is missing, recreates containers whose\n" +
			"configuration or image changed, starts what is stopped, in dependency order and in parallel where\n" +
			"the graph allows. A second 'up' with nothing changed touches nothing.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run containers in the background"},
			&cli.BoolFlag{Name: "force-recreate", Usage: "recreate containers even if their configuration and image haven't changed"},
			&cli.BoolFlag{Name: "no-recreate", Usage: "if containers already exist, don't recreate them"},
			&cli.BoolFlag{Name: "always-recreate-deps", Usage: "recreate dependent containers"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "assume yes: recreate volumes whose definition changed (their data is lost)"},
			&cli.BoolFlag{Name: "remove-orphans", Usage: "remove containers for services not defined in the Compose file"},
			&cli.BoolFlag{Name: "no-start", Usage: "don't start the services after creating them"},
			&cli.BoolFlag{Name: "no-deps", Usage: "don't start linked services"},
			&cli.StringFlag{Name: "pull", Usage: "pull image before running: `POLICY` always, missing or never"},
			&cli.BoolFlag{Name: "build", Usage: "build images before starting containers"},
			&cli.BoolFlag{Name: "no-build", Usage: "don't build an image, even if it's missing"},
			&cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: -1, Usage: "shutdown timeout in `SECONDS` for containers being replaced"},
			&cli.BoolFlag{Name: "wait", Usage: "wait for services to be running|healthy; implies detached mode"},
			&cli.IntFlag{Name: "wait-timeout", Usage: "maximum duration in `SECONDS` to wait for the project to be running|healthy"},
			&cli.StringSliceFlag{Name: "scale", Usage: "scale SERVICE to NUM instances (`SERVICE=NUM`); overrides the scale setting in the Compose file"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "watch the develop.watch paths and sync, restart or rebuild on change (see 'berth watch')"},
			&cli.BoolFlag{Name: "quiet-pull", Usage: "pull without printing progress information"},
			&cli.BoolFlag{Name: "renew-anon-volumes", Aliases: []string{"V"}, Usage: "recreate anonymous volumes instead of retrieving data from the previous containers"},
			&cli.BoolFlag{Name: "quiet-build", Usage: "suppress the build's progress output"},
			&cli.BoolFlag{Name: "menu", EnvVars: []string{"COMPOSE_MENU"}, Usage: "Docker Desktop's navigation menu, which berth does not have (--menu=false is the default)"},
		}, append(attachFlags(), append(watchFlags(), upOutputFlags()...)...)...),
		Action: runUp,
	}
}

func runUp(c *cli.Context) error {
	opts := loadOptions(c)
	opts.Services = c.Args().Slice()
	opts.NoDeps = c.Bool("no-deps")
	p, err := project.Load(c.Context, opts)
	if err == nil {
		err = project.CheckContainerNames(p)
	}
	if err != nil {
		return err
	}
	req, err := upRequest(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	if secs := c.Int("wait-timeout"); secs > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
		defer cancel()
	}
	if err := refuseWatch(c); err != nil {
		return err
	}
	attached := !c.Bool("detach") && !req.Wait && !req.DryRun
	warnMenu(c, attached)
	var aopts attachOptions
	if attached {
		if aopts, err = newAttachOptions(c, p, req); err != nil {
			return err
		}
		aopts.since = time.Now()
	} else if c.String("exit-code-from") != "" || c.Bool("abort-on-container-exit") {
		return usageErr{fmt.Errorf("--exit-code-from and --abort-on-container-exit need attached mode: drop -d/--wait")}
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	eng, done, err := newEngineWith(c, client)
	if err != nil {
		return err
	}
	defer done()
	var w *watch.Watcher
	if c.Bool("watch") {
		if w, _, err = newWatch(c, eng, p, opts.Services); err != nil {
			return err
		}
	}
	plan, err := eng.Up(ctx, p, req)
	err = waitTimeoutError(c, err, c.Int("wait-timeout"))
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	if err != nil || !attached {
		return err
	}
	// the progress display is done: the containers' output follows
	if d, ok := eng.Progress.(progress.Display); ok {
		d.Stop()
	}
	var code int
	if w != nil {
		plainProgress(c, eng)
		code, err = attachWatching(c, eng, p.Name, aopts, w)
	} else {
		code, err = attachUp(c, eng, p.Name, aopts)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCodeErr{code}
	}
	return nil
}

func upRequest(c *cli.Context) (req service.UpRequest, err error) {
	req = service.UpRequest{
		UpOptions: service.UpOptions{
			ForceRecreate:      c.Bool("force-recreate"),
			NoRecreate:         c.Bool("no-recreate"),
			AlwaysRecreateDeps: c.Bool("always-recreate-deps"),
			Yes:                c.Bool("yes"),
			RenewAnonVolumes:   c.Bool("renew-anon-volumes"),
			RemoveOrphans:      c.Bool("remove-orphans"),
			NoStart:            c.Bool("no-start"),
			Wait:               c.Bool("wait"),
		},
		Pull:   c.String("pull"),
		DryRun: c.Bool(flagDryRun),
	}
	switch {
	case c.Bool("build") && c.Bool("no-build"):
		return req, usageErr{fmt.Errorf("--build and --no-build are incompatible")}
	case c.Bool("build"):
		req.Build = service.BuildAlways
	case c.Bool("no-build"):
		req.Build = service.BuildNever
	}
	if req.BuildOptions, err = buildOptions(c); err != nil {
		return req, err
	}
	if req.ForceRecreate && req.NoRecreate {
		return req, usageErr{fmt.Errorf("--force-recreate and --no-recreate are incompatible")}
	}
	switch req.Pull {
	case "", "always", "missing", "never":
	default:
		return req, usageErr{fmt.Errorf("invalid --pull %q: use always, missing or never", req.Pull)}
	}
	// commands without -t (create, scale) keep the services' own grace
	if t := c.Int("timeout"); c.IsSet("timeout") && t >= 0 {
		d := time.Duration(t) * time.Second
		req.Timeout = &d
	}
	scale, err := parseScale(c.StringSlice("scale"))
	req.Scale = scale
	return req, err
}

func parseScale(values []string) (map[string]int, error) {
	out := map[string]int{}
	for _, v := range values {
		name, num, ok := strings.Cut(v, "=")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || name == "" {
			return nil, usageErr{fmt.Errorf("invalid --scale %q: use SERVICE=NUM", v)}
		}
		out[name] = n
	}
	return out, nil
}

func printPlan(c *cli.Context, plan *service.Plan) {
	w := c.App.Writer
	if len(plan.Builds) > 0 {
		fmt.Fprintf(w, "dry run: berth would first build the images of: %s (a changed image recreates its service)\n", strings.Join(plan.Builds, ", "))
	}
	if len(plan.Ops) == 0 {
		fmt.Fprintln(w, "dry run: nothing to do, the project is up to date")
		return
	}
	fmt.Fprintln(w, "dry run: berth would do this, each step once the steps in [] are done:")
	fmt.Fprint(w, plan.String())
}

func downCommand() *cli.Command {
	return &cli.Command{
		Name:      "down",
		Usage:     "Stop and remove the project's containers and networks",
		UsageText: "berth down [OPTIONS] [SERVICE...]",
		Description: "Stops every container of the project (dependents first, independent services in parallel), removes\n" +
			"them, their network namespaces and addresses, and the project's networks. -v also removes its named\n" +
			"volumes (never external ones). It works from the containers' labels, so it also cleans up after a crash.\n" +
			"With services, only their containers (and their dependents') go; the networks and volumes go with the\n" +
			"project's last container.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove named volumes declared in the volumes section and anonymous volumes"},
			&cli.BoolFlag{Name: "remove-orphans", Usage: "remove containers for services not defined in the Compose file"},
			&cli.IntFlag{Name: "timeout", Aliases: []string{"t"}, Value: -1, Usage: "shutdown timeout in `SECONDS`"},
			&cli.StringFlag{Name: "rmi", Usage: "remove images used by services: `TYPE` local or all"},
		},
		Action: runDown,
	}
}

func runDown(c *cli.Context) error {
	if c.NArg() > 0 {
		return downServices(c)
	}
	p, name, err := projectForDown(c)
	if err != nil {
		return err
	}
	req := service.DownRequest{Project: p, RemoveOrphans: c.Bool("remove-orphans"), Volumes: c.Bool("volumes"),
		RemoveImages: c.String("rmi"), DryRun: c.Bool(flagDryRun)}
	switch req.RemoveImages {
	case "", "local", "all":
	default:
		return usageErr{fmt.Errorf("invalid --rmi %q: use local or all", req.RemoveImages)}
	}
	if req.RemoveImages != "" && p == nil {
		return fmt.Errorf("down --rmi needs the Compose file to know the project's images")
	}
	if t := c.Int("timeout"); t >= 0 {
		d := time.Duration(t) * time.Second
		req.Timeout = &d
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	plan, err := eng.Down(c.Context, name, req)
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	return err
}

// projectForDown loads the Compose file; with -p and no file, down works
// from labels alone, as the labels are the source of truth.
func projectForDown(c *cli.Context) (*types.Project, string, error) {
	opts := loadOptions(c)
	opts.All = true
	p, err := project.Load(c.Context, opts)
	if err == nil {
		return p, p.Name, nil
	}
	if name := nameWithoutFile(c); name != "" && errors.Is(err, project.ErrNoConfigFile) {
		return nil, name, project.ValidateName(name)
	}
	return nil, "", err
}

// convergeProject loads the project and converges it as up -d would, then
// prints the plan of a dry run: create and scale are up with fixed options.
func convergeProject(c *cli.Context, opts project.LoadOptions, req service.UpRequest) error {
	p, err := project.Load(c.Context, opts)
	if err == nil {
		err = project.CheckContainerNames(p)
	}
	if err != nil {
		return err
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	plan, err := eng.Up(c.Context, p, req)
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	return err
}

// newEngine wires containerd, the networks and the volumes together.
func newEngine(c *cli.Context) (*service.Engine, func(), error) {
	client, err := connect(c)
	if err != nil {
		return nil, nil, err
	}
	return newEngineWith(c, client)
}

// newEngineWith builds the engine on an open client, which it closes with
// the returned func (or on error).
func newEngineWith(c *cli.Context, client *ctrd.Client) (*service.Engine, func(), error) {
	dataRoot := stateRoot(c)
	cfg, err := networkConfig(c)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	nets, err := network.NewManager(cfg)
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	disp, err := display(c, false)
	if err != nil {
		client.Close()
		return nil, nil, usageErr{err}
	}
	// only starting a container needs the logger: ps and down work without
	logger, loggerErr := companion.Logger()
	eng := &service.Engine{
		Logger:    logger,
		LoggerErr: loggerErr,
		Helper:    newHelper(c),
		Runtime:   client,
		Networks:  nets,
		Volumes:   volumes.NewManager(dataRoot),
		DataRoot:  dataRoot,
		Namespace: client.Namespace(),
		Parallel:  c.Int(flagParallel),
		Progress:  quietPulls(c, disp),
		Builder:   newBuilder(c),
		Warn:      func(msg string) { fmt.Fprintln(c.App.ErrWriter, "warning:", msg) },
	}
	return eng, func() { disp.Stop(); client.Close() }, nil
}
