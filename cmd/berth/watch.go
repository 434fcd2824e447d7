package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/watch"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
	"github.com/berth-dev/berth/service/attach"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "Watch the services' develop.watch paths and sync, restart or rebuild them on change",
		UsageText: "berth watch [OPTIONS] [SERVICE...]",
		Description: "Brings the project up (unless --no-up), then follows the develop.watch rules of the Compose file:\n" +
			"a saved file is copied into every running replica (sync), the containers restarted (restart), or the\n" +
			"image rebuilt and the service recreated when the image changed (rebuild). Changes are applied per\n" +
			"service once no file changed for the --debounce window. Ctrl-C stops watching; the containers stay.",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "no-up", Usage: "do not build and start the services before watching"},
			&cli.BoolFlag{Name: "quiet", Usage: "hide build output"},
		}, watchFlags()...),
		Action: runWatch,
	}
}

// watchFlags are the flags watch and up --watch share.
func watchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "prune", Value: true, Usage: "prune dangling images on rebuild (containerd collects a replaced image's content by itself: nothing is left to prune)"},
		&cli.DurationFlag{Name: "debounce", Value: watch.DefaultDebounce, Usage: "apply a service's changes once no file changed for `DURATION`"},
	}
}

func runWatch(c *cli.Context) error {
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
	w, bo, err := newWatch(c, eng, p, opts.Services)
	if err != nil {
		return err
	}
	if !c.Bool("no-up") {
		if err := eng.WatchUp(c.Context, p, bo); err != nil {
			return err
		}
	}
	plainProgress(c, eng)
	return runWatcher(c.Context, c, w)
}

// newWatch validates the develop.watch rules of the selected services and
// prepares their watch, before anything is created.
func newWatch(c *cli.Context, eng *service.Engine, p *types.Project, services []string) (*watch.Watcher, build.Options, error) {
	if c.Duration("debounce") <= 0 {
		return nil, build.Options{}, usageErr{fmt.Errorf("invalid --debounce %s: use a positive duration such as 200ms", c.Duration("debounce"))}
	}
	specs, err := watch.FromProject(p, services)
	if err != nil {
		return nil, build.Options{}, err
	}
	bo, err := buildOptions(c)
	if err != nil {
		return nil, build.Options{}, err
	}
	applier := eng.WatchApplier(p, bo, c.App.Writer, c.App.ErrWriter)
	for _, s := range specs {
		for i, r := range s.Rules {
			if r.Exec.Privileged {
				eng.Warn(fmt.Sprintf("service %q: develop.watch[%d].exec.privileged is not supported by berth yet and is ignored", s.Name, i))
			}
		}
	}
	w, err := watch.New(specs, applier, watch.Options{Debounce: c.Duration("debounce"), Observe: watchPrinter(c.App.Writer, c.App.ErrWriter)})
	if err != nil {
		return nil, build.Options{}, err
	}
	return w, bo, nil
}

// plainProgress ends up's display: from now on the engine's steps (a
// restart, a recreate after a rebuild) print as plain lines between the
// watch's own.
func plainProgress(c *cli.Context, eng *service.Engine) {
	if d, ok := eng.Progress.(progress.Display); ok {
		d.Stop()
	}
	eng.Progress = progress.NewPlain(c.App.ErrWriter)
}

// runWatcher syncs what initial_sync asks for, then watches until ctx ends.
func runWatcher(ctx context.Context, c *cli.Context, w *watch.Watcher) error {
	if err := w.InitialSync(ctx); err != nil {
		return err
	}
	if err := w.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, "Watch stopped")
	return nil
}

// watchPrinter renders watch's events: actions on out, warnings and
// failures on errOut.
func watchPrinter(out, errOut io.Writer) func(watch.Event) {
	return func(e watch.Event) {
		switch e.Kind {
		case watch.EventWarning:
			fmt.Fprintln(errOut, "warning:", e)
		case watch.EventFailed:
			msg := e.String()
			if e.Action == watch.ActionRebuild {
				msg += "; the running containers are kept, the next change retries"
			}
			fmt.Fprintln(errOut, msg)
		default:
			fmt.Fprintln(out, e)
		}
	}
}

// refuseWatch rejects what up --watch cannot be combined with, as Docker
// Compose does: the watch needs up attached and able to build.
func refuseWatch(c *cli.Context) error {
	if !c.Bool("watch") {
		return nil
	}
	switch {
	case c.Bool("detach"):
		return usageErr{fmt.Errorf("--detach cannot be combined with --watch")}
	case c.Bool("wait"):
		return usageErr{fmt.Errorf("--wait cannot be combined with --watch")}
	case c.Bool("no-build"):
		return usageErr{fmt.Errorf("--no-build and --watch are incompatible")}
	case c.Bool(flagDryRun):
		return usageErr{fmt.Errorf("--dry-run cannot be combined with --watch")}
	case c.Bool("abort-on-container-exit") || c.Bool("abort-on-container-failure") || c.String("exit-code-from") != "":
		return usageErr{fmt.Errorf("--abort-on-container-exit, --abort-on-container-failure and --exit-code-from cannot be combined with --watch: the watch outlives the containers")}
	}
	return nil
}

// attachWatching is up --watch: the containers' output and the watch side by
// side; Ctrl-C ends both (and stops the project, as attached up does).
func attachWatching(c *cli.Context, eng *service.Engine, projectName string, opts attachOptions, w *watch.Watcher) (int, error) {
	ctx, cancel := context.WithCancel(c.Context)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// the containers keep running and their output keeps coming: say
		// now that the watch ended, not when the user stops up
		if err := runWatcher(ctx, c, w); err != nil {
			fmt.Fprintln(c.App.ErrWriter, "watch stopped:", err)
		}
	}()
	code, err := followWatching(c, eng, projectName, opts)
	cancel()
	<-stopped
	return code, err
}

// followed is a container whose output up --watch prints.
type followed struct {
	id      string
	running bool
	stop    context.CancelFunc
}

// followWatching is attached up while watching: the output of the attached
// services' containers, those a rebuild recreates included, until Ctrl-C
// stops the project (twice: kills it). Exited containers do not end it: the
// next change may bring them back.
func followWatching(c *cli.Context, eng *service.Engine, projectName string, opts attachOptions) (int, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	var out sync.Mutex
	seen := map[string]*followed{} // by container name
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for first := true; ; first = false {
		cs, err := eng.Containers(ctx, projectName)
		if err != nil {
			return 1, err
		}
		var started []string
		for _, ctr := range cs {
			if ctr.Oneoff || !slices.Contains(opts.Services, ctr.Service) {
				continue
			}
			f := seen[ctr.Name]
			if f != nil && f.id == ctr.ID {
				if f.running && !ctr.Running() {
					out.Lock()
					fmt.Fprintf(c.App.Writer, "%s exited with code %d\n", prefixName(ctr), ctr.ExitCode)
					out.Unlock()
				}
				f.running = ctr.Running()
				continue
			}
			if f != nil {
				f.stop() // replaced: its successor writes the same log
			}
			since := ctr.Created
			if first {
				since = opts.since
			}
			fctx, stop := context.WithCancel(ctx)
			followAll(fctx, c, eng, []service.Container{ctr}, since, &out)
			seen[ctr.Name] = &followed{id: ctr.ID, running: ctr.Running(), stop: stop}
			started = append(started, ctr.Name)
		}
		if first && len(started) > 0 {
			fmt.Fprintf(c.App.ErrWriter, "Attaching to %s\n", strings.Join(started, ", "))
		}
		select {
		case <-c.Context.Done():
			// listen only now: the Ctrl-C that got here must not count as
			// the second one, which kills
			session := attach.Session{Engine: eng.Attached(), Project: projectName, Opts: opts.Options,
				Interrupts: interrupts(ctx), Event: func(ev attach.Event) { renderAttachEvent(c, ev, &out) }}
			fmt.Fprintln(c.App.ErrWriter, "Gracefully stopping... (press Ctrl+C again to force)")
			return 130, session.Stop(ctx)
		case <-tick.C:
		}
	}
}
