// Package supervise keeps a namespace's containers as their Compose files ask while
// no berth command runs: it applies restart policies (on containerd's exit events)
// and runs health checks, recording their results for ps and up. berth's helper
// process runs it; up and start use its health checks too.
package supervise

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/service/observed"
)

// Host is what supervision needs of the engine.
type Host interface {
	Execer
	// Containers lists the namespace's berth containers.
	Containers(ctx context.Context) ([]observed.Container, error)
	// Container finds one by name.
	Container(ctx context.Context, name string) (observed.Container, bool, error)
	// Lock takes the project's lock, as up and down do.
	Lock(ctx context.Context, projectName string) (func(), error)
	// Launch starts the container's task again.
	Launch(ctx context.Context, name string) error
	// Subscribe streams containerd's task events.
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

// resyncInterval is how often the health monitors are checked against the list of
// the namespace's containers. Start, die and destroy events start and stop them;
// the list catches only what no event told (a stream that broke and came back).
// Listing every second cost the helper and containerd ≈ 2 % of a core with 50
// containers running: containerd sends each container's whole spec.
const resyncInterval = 30 * time.Second

// Run applies restart policies and keeps health checks running for
// the namespace's berth containers until ctx ends. berth's helper runs it,
// so both work while no berth command runs.
func Run(ctx context.Context, h Host, f Files) error {
	events, errs := h.Subscribe(ctx)
	s := &supervisor{h: h, f: f, probes: map[string]context.CancelFunc{}}
	defer s.stopAll()
	tick := time.NewTicker(resyncInterval)
	defer tick.Stop()
	s.syncHealth(ctx)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return <-errs
			}
			switch ev.Action {
			case "start":
				s.startHealth(ctx, ev.ContainerID)
			case "die":
				s.stopHealth(ev.ContainerID)
				code, _ := strconv.Atoi(ev.Attributes["exitCode"])
				go s.onExit(ctx, ev.ContainerID, code)
			case "destroy":
				s.stopHealth(ev.ContainerID)
			}
		case <-tick.C:
			s.syncHealth(ctx)
		case err := <-errs:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

type supervisor struct {
	h      Host
	f      Files
	mu     sync.Mutex
	probes map[string]context.CancelFunc // by container ID, as events name them
}

// onExit restarts a container that exited on its own, as its policy says.
func (s *supervisor) onExit(ctx context.Context, id string, code int) {
	// stop and down mark a container before they kill it: its exit needs no
	// look at containerd (berth names containers by their IDs)
	if s.f.Stopping != nil && s.f.Stopping(id) {
		return
	}
	c, ok, err := s.h.Container(ctx, id)
	if err != nil || !ok {
		return
	}
	if c.Stopping || c.Oneoff {
		return // stopped by a person: stays stopped
	}
	restart, delay, st := shouldRestart(c.Restart, code, s.f.readRestart(c.Name), time.Now())
	if !restart {
		return
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return
	}
	// under the project's lock, as stop and down run: a stop either comes
	// first and is seen here, or comes after and stops this start
	// An up holding the lock for long (waiting for this very container to
	// become healthy) must not stall the restart: wait for it only a little.
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	unlock, err := s.h.Lock(lctx, c.Project)
	cancel()
	if err == nil {
		defer unlock()
	}
	if now, ok, err := s.h.Container(ctx, id); err != nil || !ok || now.Stopping || now.State == observed.StateRunning {
		return
	}
	st.LastStart = time.Now()
	if err := s.f.writeRestart(c.Name, st); err != nil {
		return
	}
	_ = s.h.Launch(ctx, c.Name)
}

// syncHealth runs one health monitor per running container that has a
// health check, and stops the monitors of the others.
func (s *supervisor) syncHealth(ctx context.Context) {
	cs, err := s.h.Containers(ctx)
	if err != nil {
		return
	}
	want := map[string]observed.Container{}
	for _, c := range cs {
		if c.Running() && c.Health != nil {
			want[c.ID] = c
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.probes {
		if _, ok := want[id]; !ok {
			s.stopProbe(id)
		}
	}
	for id, c := range want {
		if _, ok := s.probes[id]; !ok {
			s.startProbe(ctx, c)
		}
	}
}

// startHealth runs the health monitor of a container that just started, in place of
// one left from its previous run.
func (s *supervisor) startHealth(ctx context.Context, id string) {
	c, ok, err := s.h.Container(ctx, id)
	if err != nil || !ok || !c.Running() || c.Health == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopProbe(c.ID)
	s.startProbe(ctx, c)
}

// stopHealth stops the health monitor of a container that exited or went.
func (s *supervisor) stopHealth(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopProbe(id)
}

// startProbe starts c's health monitor; the caller holds s.mu.
func (s *supervisor) startProbe(ctx context.Context, c observed.Container) {
	pctx, cancel := context.WithCancel(ctx)
	s.probes[c.ID] = cancel
	go s.monitorHealth(pctx, c)
}

// stopProbe stops the container's health monitor, if it has one; the caller holds s.mu.
func (s *supervisor) stopProbe(id string) {
	if cancel, ok := s.probes[id]; ok {
		cancel()
		delete(s.probes, id)
	}
}

func (s *supervisor) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.probes {
		cancel()
	}
}

// monitorHealth probes the container on its schedule for as long as ctx
// lasts, recording each result for ps.
func (s *supervisor) monitorHealth(ctx context.Context, c observed.Container) {
	if c.Health == nil {
		return
	}
	_ = Check(ctx, s.h, s.f, c.ID, *c.Health, c.StartedAt, func(*HealthState, HealthProbe) (bool, error) { return false, nil })
}
