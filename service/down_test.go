package service

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/network"
)

// gatedStops is a runtime whose StopContainer returns only once every one of n
// containers is being stopped: as containers that wait out their grace period.
type gatedStops struct {
	*lifecycleFake
	n       int
	mu      sync.Mutex
	stopped int
	all     chan struct{}
}

func (g *gatedStops) StopContainer(ctx context.Context, id, _ string, _ time.Duration) error {
	g.mu.Lock()
	if g.stopped++; g.stopped == g.n {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: never got company: %w", id, ctx.Err())
	}
}

// noNetworks is a data root without networks.
type noNetworks struct{ *detachRecorder }

func (noNetworks) List() ([]network.Network, error) { return nil, nil }

func TestDownStopsEveryContainerAtOnce(t *testing.T) {
	const n = 5
	var infos []ctrd.ContainerInfo
	for i := 1; i <= n; i++ {
		infos = append(infos, info(fmt.Sprintf("p-s%d-1", i), fmt.Sprintf("s%d", i), ctrd.TaskRunning, nil))
	}
	eng, rt, nets := fakeEngine(t, infos...)
	eng.Runtime = &gatedStops{lifecycleFake: rt, n: n, all: make(chan struct{})}
	eng.Networks = noNetworks{nets}
	eng.Parallel = 2 // fewer than the containers: stopping must not take a slot
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := eng.Down(ctx, "p", DownRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(nets.detached) != n {
		t.Errorf("%d of %d containers detached", len(nets.detached), n)
	}
}
