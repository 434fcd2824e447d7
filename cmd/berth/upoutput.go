package main

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

// upOutputFlags shape an attached up's output, as logs' flags do.
func upOutputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "no-color", Usage: "produce monochrome output"},
		&cli.BoolFlag{Name: "no-log-prefix", Usage: "don't print the 'service-1  | ' prefix in logs"},
		&cli.BoolFlag{Name: "timestamps", Usage: "show timestamps"},
	}
}

// warnMenu answers --menu: berth has no navigation menu to show.
func warnMenu(c *cli.Context, attached bool) {
	if c.Bool("menu") && attached {
		warn(c, "berth has no navigation menu (Docker Desktop's shortcuts): the output is the containers' logs; Ctrl-C stops the project")
	}
}

// nameWithoutProject is how Docker Compose names an attached container:
// web-1 for proj-web-1, a container_name as it is.
func nameWithoutProject(projectName string, ctr service.Container) string {
	sep := project.Separator
	if ctr.Name != projectName+sep+ctr.Service+sep+strconv.Itoa(ctr.Number) {
		return ctr.Name
	}
	return strings.TrimPrefix(ctr.Name, projectName+sep)
}

// quietPulls hides the pulls' progress (--quiet-pull) and keeps a failed
// pull's line, which names the image.
func quietPulls(c *cli.Context, d progress.Display) progress.Display {
	if !c.Bool("quiet-pull") {
		return d
	}
	return withoutPulls{d}
}

type withoutPulls struct{ progress.Display }

func (w withoutPulls) Event(e progress.Event) {
	if strings.HasPrefix(e.ID, "Image ") && !e.Err {
		return
	}
	w.Display.Event(e)
}
