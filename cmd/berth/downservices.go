package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service"
)

// nameWithoutFile is the project a command that works from labels acts on
// when there is no Compose file: -p, else $COMPOSE_PROJECT_NAME, as in
// Docker Compose.
func nameWithoutFile(c *cli.Context) string {
	if name := c.String(flagProject); name != "" {
		return name
	}
	return os.Getenv("COMPOSE_PROJECT_NAME")
}

// downServices is `down SERVICE...`: the services' containers go, with
// those of the services that depend on them, dependents first; the
// project's networks and volumes go with its last container.
func downServices(c *cli.Context) error {
	switch rmi := c.String("rmi"); rmi {
	case "", "local", "all":
	default:
		return usageErr{fmt.Errorf("invalid --rmi %q: use local or all", rmi)}
	}
	p, name, err := projectForDown(c)
	if err != nil {
		return err
	}
	services := c.Args().Slice()
	if p != nil {
		for _, s := range services {
			if _, err := p.GetService(s); err != nil {
				return fmt.Errorf("no such service: %s", s)
			}
		}
		g, err := project.NewGraph(p)
		if err != nil {
			return err
		}
		services = g.WithDependents(services)
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	req := service.LifecycleRequest{Services: services, Stop: true, Volumes: c.Bool("volumes"), Timeout: timeoutOf(c), DryRun: c.Bool(flagDryRun)}
	plan, err := eng.Remove(c.Context, name, req, nil)
	if req.DryRun && plan != nil {
		printPlan(c, plan)
	}
	if err != nil || req.DryRun {
		return err
	}
	if c.Bool("remove-orphans") {
		if err := removeOrphans(c); err != nil {
			return err
		}
	}
	left, err := eng.Containers(c.Context, name)
	if err != nil || len(left) > 0 {
		return err
	}
	_, err = eng.Down(c.Context, name, service.DownRequest{Project: p, Volumes: c.Bool("volumes"),
		RemoveImages: c.String("rmi"), Timeout: timeoutOf(c)})
	return err
}
