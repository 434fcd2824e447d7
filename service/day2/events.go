package day2

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/service/plan"
)

// ContainerEvent is an event of one of the project's containers, as
// docker compose events reports it.
type ContainerEvent struct {
	Time    time.Time
	Action  string
	ID      string
	Service string
	// Attributes are the container's name and image, and what the event
	// adds (exitCode for die).
	Attributes map[string]string
}

// WatchEvents streams the events of the services' containers (all of the
// project's when none is named) until ctx ends or fn fails.
func (o Ops) WatchEvents(ctx context.Context, projectName string, services []string, fn func(ContainerEvent) error) error {
	rt := o.Host
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Subscribe(ctx)
	// containers by ID; nil marks another project's
	known := map[string]*plan.Container{}
	refresh := func() error {
		cs, err := o.Host.Containers(ctx, projectName)
		for _, c := range cs {
			known[c.ID] = &c
		}
		return err
	}
	if err := refresh(); err != nil {
		return err
	}
	for {
		var ev ctrd.Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return streamEnd(ctx, errs)
		}
		c, seen := known[ev.ContainerID]
		if !seen || ev.Action == "create" {
			if err := refresh(); err != nil {
				return err
			}
			if c, seen = known[ev.ContainerID]; !seen {
				known[ev.ContainerID] = nil
			}
		}
		if c == nil || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		if err := fn(containerEvent(ev, *c)); err != nil {
			return err
		}
	}
}

func streamEnd(ctx context.Context, errs <-chan error) error {
	select {
	case err := <-errs:
		return err
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("containerd closed the event stream")
}

func containerEvent(ev ctrd.Event, c plan.Container) ContainerEvent {
	attrs := map[string]string{"name": c.Name, "image": c.Image}
	maps.Copy(attrs, ev.Attributes)
	return ContainerEvent{Time: ev.Time, Action: ev.Action, ID: c.ID, Service: c.Service, Attributes: attrs}
}
