package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/service"
	"github.com/berth-dev/berth/service/supervise"
)

// readyPoll is how often start --wait looks at the containers again.
const readyPoll = 200 * time.Millisecond

// waitReady blocks until every container of the services runs, and is
// healthy when it has a health check, as `start --wait` does; a one-shot
// service that others wait for with service_completed_successfully must
// have exited 0. A timeout gives Docker Compose's sentence.
func waitReady(c *cli.Context, projectName string, p *types.Project, services []string, timeout time.Duration) error {
	ctx := c.Context
	if timeout > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	for {
		cs, err := eng.Containers(ctx, projectName)
		if err == nil {
			var ready bool
			if ready, err = containersReady(eng, p, services, cs); ready {
				return nil
			}
		}
		if err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(readyPoll):
				continue
			}
		}
		if errors.Is(err, context.DeadlineExceeded) && c.Context.Err() == nil {
			return fmt.Errorf("application not healthy after %s", timeout)
		}
		return err
	}
}

// containersReady reports whether the services' containers are all
// ready, or why one never will be.
func containersReady(eng *service.Engine, p *types.Project, services []string, cs []service.Container) (bool, error) {
	ready := true
	for _, ctr := range cs {
		if ctr.Oneoff || len(services) > 0 && !slices.Contains(services, ctr.Service) {
			continue
		}
		switch ctr.State {
		case service.StateRunning, service.StatePaused:
			if ctr.Health == nil {
				continue
			}
			h := eng.ReadHealth(ctr.Name)
			switch {
			case h == nil || h.Status == supervise.HealthStarting:
				ready = false
			case h.Status == supervise.HealthUnhealthy:
				return false, fmt.Errorf("container %s is unhealthy", ctr.Name)
			}
		case service.StateExited:
			if ctr.ExitCode != 0 || !completedDependency(p, ctr.Service) {
				return false, fmt.Errorf("container %s exited (%d)", ctr.Name, ctr.ExitCode)
			}
		default:
			ready = false
		}
	}
	return ready, nil
}

// completedDependency says whether a service is one others wait for to
// complete: its exit is what --wait waits for.
func completedDependency(p *types.Project, name string) bool {
	if p == nil {
		return false
	}
	for _, s := range p.Services {
		if dep, ok := s.DependsOn[name]; ok && dep.Condition == types.ServiceConditionCompletedSuccessfully {
			return true
		}
	}
	return false
}

// waitTimeoutError puts Docker Compose's sentence first when --wait-timeout
// ended the wait (scripts match it), and keeps what berth knows after it.
func waitTimeoutError(c *cli.Context, err error, secs int) error {
	if err == nil || secs <= 0 || !errors.Is(err, context.DeadlineExceeded) || c.Context.Err() != nil {
		return err
	}
	msg := fmt.Sprintf("application not healthy after %s", time.Duration(secs)*time.Second)
	if detail := err.Error(); detail != context.DeadlineExceeded.Error() {
		msg += ": " + detail
	}
	return errors.New(msg)
}
