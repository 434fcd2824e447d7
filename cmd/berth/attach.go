package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/service"
	"github.com/berth-dev/berth/service/attach"
)

// logPoll is how often berth-logger's files are polled when following.
const logPoll = 150 * time.Millisecond

// attachOptions are the flags of an attached `up`.
type attachOptions struct {
	attach.Options
	since time.Time
}

func attachFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "abort-on-container-exit", Usage: "stop all containers if any container was stopped"},
		&cli.BoolFlag{Name: "abort-on-container-failure", Usage: "stop all containers if any container exited with failure"},
		&cli.StringFlag{Name: "exit-code-from", Usage: "return the exit code of the selected `SERVICE` container; implies --abort-on-container-exit"},
		&cli.StringSliceFlag{Name: "attach", Usage: "restrict attaching to the specified `SERVICE`s"},
		&cli.StringSliceFlag{Name: "no-attach", Usage: "do not attach (stream logs) to the specified `SERVICE`s"},
		&cli.BoolFlag{Name: "attach-dependencies", Usage: "automatically attach to log output of dependent services"},
	}
}

// newAttachOptions reads the flags of an attached up.
func newAttachOptions(c *cli.Context, p *types.Project, req service.UpRequest) (attachOptions, error) {
	opts := attachOptions{Options: attach.Options{
		AbortOnExit:    c.Bool("abort-on-container-exit") || c.String("exit-code-from") != "",
		AbortOnFailure: c.Bool("abort-on-container-failure"),
		ExitCodeFrom:   c.String("exit-code-from"),
		Timeout:        req.Timeout,
		Services: attach.Select(p.ServiceNames(), c.StringSlice("attach"), c.Args().Slice(),
			c.Bool("attach-dependencies"), c.StringSlice("no-attach")),
	}}
	if opts.ExitCodeFrom != "" {
		if _, err := p.GetService(opts.ExitCodeFrom); err != nil {
			return opts, usageErr{fmt.Errorf("--exit-code-from: no such service: %s", opts.ExitCodeFrom)}
		}
	}
	return opts, nil
}

// attachUp streams the attached containers' output while the session runs (until
// they have all exited, one exit aborts the stack, or Ctrl-C stops it; twice:
// kill) and returns the exit code berth ends with.
func attachUp(c *cli.Context, eng *service.Engine, projectName string, opts attachOptions) (int, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	cs, err := eng.Containers(ctx, projectName)
	if err != nil {
		return 1, err
	}
	var attached []service.Container
	for _, ctr := range cs {
		if !ctr.Oneoff && slices.Contains(opts.Services, ctr.Service) {
			attached = append(attached, ctr)
		}
	}
	names := make([]string, len(attached))
	for i, ctr := range attached {
		names[i] = nameWithoutProject(projectName, ctr)
	}
	fmt.Fprintf(c.App.Writer, "Attaching to %s\n", strings.Join(names, ", "))
	var out sync.Mutex
	followAll(ctx, c, eng, attached, opts.since, &out)
	session := attach.Session{Engine: eng.Attached(), Project: projectName, Opts: opts.Options, Attached: attached,
		Interrupts: interrupts(ctx), Event: func(ev attach.Event) { renderAttachEvent(c, ev, &out) }}
	return session.Run(ctx)
}

// interrupts turns Ctrl-C and SIGTERM into the session's interrupts while ctx lasts.
func interrupts(ctx context.Context) <-chan struct{} {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	out := make(chan struct{}, 2)
	go func() {
		defer signal.Stop(signals)
		for {
			select {
			case <-signals:
				out <- struct{}{}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func renderAttachEvent(c *cli.Context, ev attach.Event, out *sync.Mutex) {
	switch ev.Kind {
	case attach.Exited:
		// the follower polls: let it print the last lines first
		time.Sleep(2 * logPoll)
		out.Lock()
		fmt.Fprintf(c.App.Writer, "%s exited with code %d\n", prefixName(ev.Container), ev.ExitCode)
		out.Unlock()
	case attach.Aborting:
		fmt.Fprintln(c.App.ErrWriter, "Aborting on container exit...")
	case attach.Stopping:
		fmt.Fprintln(c.App.ErrWriter, "Gracefully stopping... (press Ctrl+C again to force)")
	case attach.Killing:
		fmt.Fprintln(c.App.ErrWriter, "Killing...")
	}
}

// followAll prints the containers' new output with Docker Compose's
// prefixes while ctx lasts.
func followAll(ctx context.Context, c *cli.Context, eng *service.Engine, cs []service.Container, since time.Time, out *sync.Mutex) {
	width := 0
	for _, ctr := range cs {
		width = max(width, len(prefixName(ctr)))
	}
	color := !c.Bool("no-color") && useColor(c, c.App.Writer)
	for i, ctr := range cs {
		prefix := logs.Prefix(prefixName(ctr), width, i, color)
		if c.Bool("no-log-prefix") {
			prefix = ""
		}
		go func() {
			_ = logs.Follow(ctx, eng.LogPath(ctr.Name), logs.ReadOptions{Since: since, Tail: -1}, func(e logs.Entry) {
				out.Lock()
				writeLogLine(c, prefix, e)
				out.Unlock()
			})
		}()
	}
}

func prefixName(ctr service.Container) string {
	return fmt.Sprintf("%s-%d", ctr.Service, ctr.Number)
}
