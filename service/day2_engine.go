package service

import (
	"context"

	"github.com/berth-dev/berth/service/day2"
)

// The day-2 operations' requests and results, as the engine's callers see them.
type (
	CopyRequest    = day2.CopyRequest
	ProcessList    = day2.ProcessList
	ContainerStats = day2.ContainerStats
	StatsRequest   = day2.StatsRequest
	ContainerEvent = day2.ContainerEvent
)

// day2Host is the engine as the day-2 operations see it.
type day2Host struct {
	e *Engine
	lifecycleRuntime
}

func (h day2Host) Containers(ctx context.Context, projectName string) ([]Container, error) {
	return h.e.Containers(ctx, projectName)
}

func (e *Engine) day2() (day2.Ops, error) {
	rt, err := e.lifecycle()
	if err != nil {
		return day2.Ops{}, err
	}
	return day2.Ops{Host: day2Host{e, rt}, Progress: e.Progress, Warn: e.warn}, nil
}

// Copy copies between a service's containers and the host, as docker cp does.
func (e *Engine) Copy(ctx context.Context, projectName string, req CopyRequest) error {
	o, err := e.day2()
	if err != nil {
		return err
	}
	return o.Copy(ctx, projectName, req)
}

// Top lists the processes of the services' running containers.
func (e *Engine) Top(ctx context.Context, projectName string, services []string) ([]ProcessList, error) {
	o, err := e.day2()
	if err != nil {
		return nil, err
	}
	return o.Top(ctx, projectName, services)
}

// Stats reports the services' resource use until ctx ends.
func (e *Engine) Stats(ctx context.Context, projectName string, req StatsRequest, report func([]ContainerStats) error) error {
	o, err := e.day2()
	if err != nil {
		return err
	}
	return o.Stats(ctx, projectName, req, report)
}

// WatchEvents streams the events of the services' containers.
func (e *Engine) WatchEvents(ctx context.Context, projectName string, services []string, fn func(ContainerEvent) error) error {
	o, err := e.day2()
	if err != nil {
		return err
	}
	return o.WatchEvents(ctx, projectName, services, fn)
}
