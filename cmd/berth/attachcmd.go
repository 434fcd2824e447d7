package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/logs"
)

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "Attach to a service container's output",
		UsageText: "berth attach [OPTIONS] SERVICE",
		Description: "Streams the container's output from now on and exits with its exit code when it stops.\n" +
			"Ctrl-C is passed to the container as SIGINT (--sig-proxy, the default); without it, Ctrl-C only\n" +
			"detaches. A container's stdin cannot be attached: its output goes to berth-logger, which keeps\n" +
			"it while no berth runs. Use 'berth exec -i' or 'berth run -i' for interactive input.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "index", Value: 1, Usage: "`INDEX` of the container if the service has several replicas"},
			&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "proxy received signals to the process"},
			&cli.BoolFlag{Name: "no-stdin", Value: true, Usage: "do not attach STDIN (always the case)"},
		},
		Action: runAttach,
	}
}

func runAttach(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr{fmt.Errorf("attach needs one service")}
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	ctr, err := eng.RunningServiceContainer(c.Context, name, c.Args().First(), c.Int("index"))
	if err != nil {
		return err
	}
	id := ctr.ID
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	defer cancel()
	go func() {
		_ = logs.Follow(ctx, eng.LogPath(id), logs.ReadOptions{Since: time.Now(), Tail: -1}, func(e logs.Entry) {
			writeLogLine(c, "", e)
		})
	}()
	exited := make(chan int, 1)
	go func() {
		code, err := eng.WaitContainer(ctx, ctr)
		if err != nil {
			code = 1
		}
		exited <- code
	}()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	for {
		select {
		case code := <-exited:
			time.Sleep(2 * logPoll) // the last lines
			if code != 0 {
				return exitCodeErr{code}
			}
			return nil
		case sig := <-signals:
			if !c.Bool("sig-proxy") {
				return nil
			}
			if err := eng.Signal(ctx, ctr, fmt.Sprint(int(sig.(syscall.Signal)))); err != nil {
				return err
			}
		}
	}
}
