package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "Export a service container's filesystem as a tar archive",
		UsageText: "berth export [OPTIONS] SERVICE",
		Description: "Writes the container's root file system (the image's layers with what the container changed,\n" +
			"not its volumes or bind mounts) as a tar archive, as 'docker export' does. The container may be\n" +
			"running or stopped. Without -o the archive goes to stdout, which must not be a terminal.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "index", Usage: "`INDEX` of the container if the service has several replicas (default: the first)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
		},
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr{errors.New("export needs one service")}
	}
	out := c.String("output")
	if out == "" && isTerminal(c.App.Writer) {
		return usageErr{errors.New("output option is required when exporting to terminal: use -o FILE, or redirect stdout")}
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	ctr, err := eng.ServiceContainer(c.Context, name, c.Args().First(), c.Int("index"))
	if err != nil {
		return err
	}
	write := func(w io.Writer) error { return eng.Export(c.Context, ctr, w) }
	if out == "" {
		return write(c.App.Writer)
	}
	return writeFileAtomic(out, write)
}

// writeFileAtomic writes through a temporary file renamed into place, so
// that a failed export leaves no partial archive.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
