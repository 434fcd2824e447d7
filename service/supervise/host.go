package supervise

import (
	"context"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/observed"
	"github.com/berth-dev/berth/service/runstate"
)

// Runtime is what supervision asks of containerd beside the store's listing;
// *ctrd.Client implements it.
type Runtime interface {
	Execer
	StartTask(ctx context.Context, id string, logs ctrd.LogDriver) (ctrd.Started, error)
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

// StoreHost is the Host of the engine and of the helper process alike: containers
// as the store sees them, tasks through the runtime.
type StoreHost struct {
	Store   runstate.Store
	Runtime Runtime
}

// FilesOf keeps supervision's records in the store's container directories, and
// stops health writes once the store marks a container as stopping.
func FilesOf(s runstate.Store) Files {
	return Files{Dir: s.ContainerDir, Stopping: func(name string) bool { return s.ReadState(name).Stopping }}
}

func (h StoreHost) Exec(ctx context.Context, id string, spec ctrd.ExecSpec) (int, error) {
	return h.Runtime.Exec(ctx, id, spec)
}

func (h StoreHost) Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error) {
	return h.Runtime.Subscribe(ctx)
}

func (h StoreHost) Containers(ctx context.Context) ([]observed.Container, error) {
	return h.Store.Containers(ctx, map[string]string{record.LabelVersion: record.Version})
}

func (h StoreHost) Container(ctx context.Context, name string) (observed.Container, bool, error) {
	return h.Store.Container(ctx, name)
}

func (h StoreHost) Lock(ctx context.Context, project string) (func(), error) {
	return h.Store.Lock(ctx, project)
}

// Launch starts the container's task again, logging as it was created to.
func (h StoreHost) Launch(ctx context.Context, name string) error {
	driver, err := h.Store.LogDriver(name)
	if err != nil {
		return err
	}
	_, err = h.Runtime.StartTask(ctx, name, driver)
	return err
}
