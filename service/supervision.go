package service

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/supervise"
)

// Supervise applies restart policies and keeps health checks running for the
// namespace's berth containers until ctx ends; berth's helper runs it.
func (e *Engine) Supervise(ctx context.Context) error {
	rt, ok := e.Runtime.(eventRuntime)
	if !ok {
		return errors.New("supervise: the runtime has no event stream")
	}
	return supervise.Run(ctx, supervisionHost{e, rt}, e.supervisionFiles())
}

// ReadHealth returns the container's last recorded health, or nil when it has no
// health check or none ran yet.
func (e *Engine) ReadHealth(name string) *supervise.HealthState {
	return e.supervisionFiles().ReadHealth(name)
}

func (e *Engine) supervisionFiles() supervise.Files {
	return supervise.Files{Dir: e.containerDir, Stopping: func(name string) bool { return e.readState(name).Stopping }}
}

// eventRuntime is what supervision needs beyond Runtime: containerd's event stream.
type eventRuntime interface {
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

// supervisionHost is the engine as supervision sees it.
type supervisionHost struct {
	e *Engine
	eventRuntime
}

func (h supervisionHost) Exec(ctx context.Context, id string, spec ctrd.ExecSpec) (int, error) {
	return h.e.Runtime.Exec(ctx, id, spec)
}

func (h supervisionHost) Containers(ctx context.Context) ([]Container, error) {
	return h.e.observeContainers(ctx, map[string]string{record.LabelVersion: record.Version})
}

func (h supervisionHost) Container(ctx context.Context, name string) (Container, bool, error) {
	cs, err := h.e.observeContainers(ctx, map[string]string{record.LabelName: name})
	if err != nil || len(cs) == 0 {
		return Container{}, false, err
	}
	return cs[0], true, nil
}

func (h supervisionHost) Lock(ctx context.Context, projectName string) (func(), error) {
	return h.e.lock(ctx, projectName)
}

func (h supervisionHost) Launch(ctx context.Context, name string) error {
	_, err := h.e.launch(ctx, name)
	return err
}
