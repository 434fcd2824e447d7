package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/treetar"
	"github.com/berth-dev/berth/project"
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
	name, err := projectName(c)
	if err != nil {
		return err
	}
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	svc := c.Args().First()
	id, err := serviceContainer(c, client, name, svc, c.Int("index"))
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		return client.WithRootfs(c.Context, id, func(root string) error {
			return treetar.Write(w, root, treetar.Options{})
		})
	}
	if out == "" {
		return write(c.App.Writer)
	}
	return writeFileAtomic(out, write)
}

// serviceContainer finds a replica of a service in any state: index 0 is
// the lowest-numbered one.
func serviceContainer(c *cli.Context, client *ctrd.Client, projectName, svc string, index int) (string, error) {
	infos, err := client.ListContainers(c.Context, map[string]string{project.LabelProject: projectName, project.LabelService: svc})
	if err != nil {
		return "", err
	}
	infos = slices.DeleteFunc(infos, func(i ctrd.ContainerInfo) bool {
		return strings.EqualFold(i.Labels[project.LabelOneoff], "true")
	})
	number := func(i ctrd.ContainerInfo) int {
		n, _ := strconv.Atoi(i.Labels[project.LabelNumber])
		return n
	}
	slices.SortFunc(infos, func(a, b ctrd.ContainerInfo) int { return number(a) - number(b) })
	for _, info := range infos {
		if index == 0 || number(info) == index {
			return info.ID, nil
		}
	}
	if index == 0 {
		return "", fmt.Errorf("service %q of project %q has no container: create it with 'berth up' or 'berth create'", svc, projectName)
	}
	return "", fmt.Errorf("service %q of project %q has no container with index %d", svc, projectName, index)
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
