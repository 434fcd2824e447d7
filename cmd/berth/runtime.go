package main

import (
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
)

// connect opens containerd with the global connection flags.
func connect(c *cli.Context) (*ctrd.Client, error) {
	return ctrd.Connect(c.Context, ctrd.Options{
		Address:     c.String(flagAddress),
		Namespace:   c.String(flagNamespace),
		Snapshotter: c.String(flagSnapshot),
		HostsDir:    c.String(flagHostsDir),
	})
}

// display returns the progress renderer --progress asks for; quiet when
// the command was asked to be quiet.
func display(c *cli.Context, quiet bool) (progress.Display, error) {
	if quiet {
		return progress.NewQuiet(), nil
	}
	ansi, err := ansiMode(c)
	if err != nil {
		return nil, err
	}
	mode, err := progressMode(c.String(flagProgress), ansi, isTerminal(c.App.ErrWriter))
	if err != nil {
		return nil, err
	}
	return progress.New(mode, c.App.ErrWriter, mode == progress.ModeTTY)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
