// Package day2 holds the operations on a running project that neither converge nor
// supervise it: cp, top, stats and events. The engine hands them its containers and
// runtime through Host.
package day2

import (
	"context"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/service/plan"
)

// Host is what the day-2 operations need of the engine.
type Host interface {
	// Containers lists the project's containers, one-offs included.
	Containers(ctx context.Context, projectName string) ([]plan.Container, error)
	Pids(ctx context.Context, id string) ([]uint32, error)
	Metrics(ctx context.Context, id string) (ctrd.Metrics, error)
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

// Ops are the day-2 operations on one namespace.
type Ops struct {
	Host     Host
	Progress progress.Sink
	Warn     func(string)
}

func (o Ops) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}
