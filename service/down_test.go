package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// projectNets is a data root whose networks are the project's and maybe others.
type projectNets struct {
	*detachRecorder
	mu      sync.Mutex
	nets    []string
	removed []string
}

func (n *projectNets) List() ([]network.Network, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []network.Network
	for _, name := range n.nets {
		project, _, _ := strings.Cut(name, "_")
		out = append(out, network.Network{Spec: network.Spec{Name: name, Labels: map[string]string{"com.docker.compose.project": project}}})
	}
	return out, nil
}

func (n *projectNets) Attachments(string) ([]string, error) { return nil, nil }

func (n *projectNets) Remove(_ context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removed = append(n.removed, name)
	n.nets = slices.DeleteFunc(n.nets, func(s string) bool { return s == name })
	return nil
}

func TestDownStopsTheHelperWithTheLastNetworks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nets  []string
		stops int
	}{
		{"the project's networks are the last", []string{"p_default", "p_back"}, 1},
		{"another project's network stays", []string{"p_default", "q_default"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, _, rec := fakeEngine(t, info("p-web-1", "web", ctrd.TaskRunning, nil))
			eng.Networks = &projectNets{detachRecorder: rec, nets: slices.Clone(tc.nets)}
			var stops atomic.Int32
			eng.Helper = countingHelper{&stops}
			if _, err := eng.Down(t.Context(), "p", DownRequest{}); err != nil {
				t.Fatal(err)
			}
			if int(stops.Load()) != tc.stops {
				t.Errorf("helper stopped %d times, want %d", stops.Load(), tc.stops)
			}
		})
	}
}

func TestStopAndRestartSignalEveryContainerAtOnce(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name string
		run  func(context.Context, *Engine) error
	}{
		{"stop", func(ctx context.Context, e *Engine) error { _, err := e.Stop(ctx, "p", LifecycleRequest{}); return err }},
		{"restart", func(ctx context.Context, e *Engine) error {
			_, err := e.Restart(ctx, "p", LifecycleRequest{})
			return err
		}},
		{"rm -s", func(ctx context.Context, e *Engine) error {
			_, err := e.Remove(ctx, "p", LifecycleRequest{Stop: true}, func([]string) (bool, error) { return true, nil })
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var infos []ctrd.ContainerInfo
			for i := 1; i <= n; i++ {
				infos = append(infos, info(fmt.Sprintf("p-s%d-1", i), fmt.Sprintf("s%d", i), ctrd.TaskRunning, nil))
			}
			eng, rt, nets := fakeEngine(t, infos...)
			eng.Runtime = &gatedStops{lifecycleFake: rt, n: n, all: make(chan struct{})}
			eng.Networks = noNetworks{nets}
			eng.Parallel = 2 // fewer than the containers: a grace period must not take a slot
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := tc.run(ctx, eng); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// StartTask starts nothing: restart's start half is not what these tests look at.
func (g *gatedStops) StartTask(context.Context, string, ctrd.LogDriver) (ctrd.Started, error) {
	return ctrd.Started{PID: 1}, nil
}

// countingHelper counts the helper's stops.
type countingHelper struct{ stops *atomic.Int32 }

func (countingHelper) Ensure(context.Context, ...string) error { return nil }
func (h countingHelper) Stop(context.Context) error {
	h.stops.Add(1)
	return nil
}
