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
)

// logPoll is how often berth-logger's files are polled when following.
const logPoll = 150 * time.Millisecond

// attachOptions are the flags of an attached `up`.
type attachOptions struct {
	since          time.Time
	services       []string // attached services
	abortOnExit    bool
	abortOnFailure bool
	exitCodeFrom   string
	timeout        *time.Duration
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

// newAttachOptions picks the attached services as Docker Compose does: the
// --attach list, else the services named on the command line (with their
// dependencies on request), else every service; minus --no-attach.
func newAttachOptions(c *cli.Context, p *types.Project, req service.UpRequest) (attachOptions, error) {
	opts := attachOptions{
		abortOnExit:    c.Bool("abort-on-container-exit") || c.String("exit-code-from") != "",
		abortOnFailure: c.Bool("abort-on-container-failure"),
		exitCodeFrom:   c.String("exit-code-from"),
		timeout:        req.Timeout,
	}
	if opts.exitCodeFrom != "" {
		if _, err := p.GetService(opts.exitCodeFrom); err != nil {
			return opts, usageErr{fmt.Errorf("--exit-code-from: no such service: %s", opts.exitCodeFrom)}
		}
	}
	switch {
	case len(c.StringSlice("attach")) > 0:
		opts.services = c.StringSlice("attach")
	case c.NArg() > 0 && !c.Bool("attach-dependencies"):
		opts.services = c.Args().Slice()
	default:
		opts.services = p.ServiceNames()
	}
	opts.services = slices.DeleteFunc(opts.services, func(s string) bool { return slices.Contains(c.StringSlice("no-attach"), s) })
	return opts, nil
}

// attach streams the attached containers' output until they have all
// exited, or one exit aborts the stack, or Ctrl-C stops it (twice: kill).
// It returns the exit code berth ends with.
func attach(c *cli.Context, eng *service.Engine, projectName string, opts attachOptions) (int, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	cs, err := eng.Containers(ctx, projectName)
	if err != nil {
		return 1, err
	}
	var attached []service.Container
	for _, ctr := range cs {
		if !ctr.Oneoff && slices.Contains(opts.services, ctr.Service) {
			attached = append(attached, ctr)
		}
	}
	var out sync.Mutex
	names := make([]string, len(attached))
	for i, ctr := range attached {
		names[i] = nameWithoutProject(projectName, ctr)
	}
	fmt.Fprintf(c.App.Writer, "Attaching to %s\n", strings.Join(names, ", "))
	followAll(ctx, c, eng, attached, opts.since, &out)

	exits := make(chan service.WaitResult, len(attached))
	waitErr := make(chan error, 1)
	go func() {
		waitErr <- eng.Wait(ctx, projectName, opts.services, func(r service.WaitResult) { exits <- r })
	}()
	return superviseAttached(c, eng, projectName, attached, opts, exits, waitErr, &out)
}

// superviseAttached reacts to exits and to Ctrl-C.
func superviseAttached(c *cli.Context, eng *service.Engine, projectName string, attached []service.Container,
	opts attachOptions, exits <-chan service.WaitResult, waitErr <-chan error, out *sync.Mutex) (int, error) {
	interrupts := make(chan os.Signal, 2)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupts)
	running := len(attached)
	code := 0
	for running > 0 {
		select {
		case r := <-exits:
			running--
			// the follower polls: let it print the last lines first
			time.Sleep(2 * logPoll)
			out.Lock()
			fmt.Fprintf(c.App.Writer, "%s exited with code %d\n", prefixName(r.Container), r.ExitCode)
			out.Unlock()
			if r.Container.Service == opts.exitCodeFrom {
				code = r.ExitCode
			}
			if opts.abortOnExit || (opts.abortOnFailure && r.ExitCode != 0) {
				if opts.exitCodeFrom == "" {
					code = r.ExitCode
				}
				fmt.Fprintln(c.App.ErrWriter, "Aborting on container exit...")
				return code, stopProject(c, eng, projectName, opts.timeout, interrupts)
			}
		case err := <-waitErr:
			if err != nil {
				return 1, err
			}
			waitErr = nil
		case <-c.Context.Done():
			fmt.Fprintln(c.App.ErrWriter, "Gracefully stopping... (press Ctrl+C again to force)")
			return 130, stopProject(c, eng, projectName, opts.timeout, interrupts)
		}
	}
	return code, nil
}

// stopProject stops the project's containers; another Ctrl-C kills them.
func stopProject(c *cli.Context, eng *service.Engine, projectName string, timeout *time.Duration, interrupts <-chan os.Signal) error {
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := eng.Stop(ctx, projectName, service.LifecycleRequest{Timeout: timeout})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-interrupts:
		cancel()
		<-done
		kctx := context.WithoutCancel(c.Context)
		_, err := eng.Kill(kctx, projectName, service.LifecycleRequest{Signal: "SIGKILL"})
		return err
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
