package service

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/service/supervise"
)

// Supervise applies restart policies and keeps health checks running for the
// namespace's berth containers until ctx ends (berth __helper).
func (e *Engine) Supervise(ctx context.Context) error {
	rt, ok := e.Runtime.(eventRuntime)
	if !ok {
		return errors.New("supervise: the runtime has no event stream")
	}
	return supervise.Run(ctx, supervise.StoreHost{Store: e.store(), Runtime: rt}, e.supervisionFiles())
}

// ReadHealth returns the container's last recorded health, or nil when it has no
// health check or none ran yet.
func (e *Engine) ReadHealth(name string) *supervise.HealthState {
	return e.supervisionFiles().ReadHealth(name)
}

func (e *Engine) supervisionFiles() supervise.Files { return supervise.FilesOf(e.store()) }

// eventRuntime is what supervision needs beyond Runtime: containerd's event stream.
type eventRuntime interface {
	Runtime
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}
