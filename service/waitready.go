package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/service/supervise"
)

// readyPoll is how often start --wait looks at the containers again.
const readyPoll = 200 * time.Millisecond

// WaitReady blocks until every container of the services runs, and is
// healthy when it has a health check, as `start --wait` does; a one-shot
// service that others wait for with service_completed_successfully must
// have exited 0. The timeout ends it with context.DeadlineExceeded.
func (e *Engine) WaitReady(ctx context.Context, projectName string, p *types.Project, services []string, timeout time.Duration) error {
	if timeout > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		cs, err := e.Containers(ctx, projectName)
		if err == nil {
			var ready bool
			if ready, err = e.containersReady(p, services, cs); ready {
				return nil
			}
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPoll):
		}
	}
}

// containersReady reports whether the services' containers are all
// ready, or why one never will be.
func (e *Engine) containersReady(p *types.Project, services []string, cs []Container) (bool, error) {
	ready := true
	for _, ctr := range cs {
		if ctr.Oneoff || len(services) > 0 && !slices.Contains(services, ctr.Service) {
			continue
		}
		switch ctr.State {
		case StateRunning, StatePaused:
			if ctr.Health == nil {
				continue
			}
			h := e.ReadHealth(ctr.Name)
			switch {
			case h == nil || h.Status == supervise.HealthStarting:
				ready = false
			case h.Status == supervise.HealthUnhealthy:
				return false, fmt.Errorf("container %s is unhealthy", ctr.Name)
			}
		case StateExited:
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
