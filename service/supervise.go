package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
)

// eventRuntime is what supervision needs beyond Runtime: containerd's
// event stream.
type eventRuntime interface {
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

func (e *Engine) restartFile(name string) string {
	return filepath.Join(e.containerDir(name), "restart.json")
}

func (e *Engine) readRestart(name string) translate.RestartState {
	var st translate.RestartState
	if b, err := os.ReadFile(e.restartFile(name)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (e *Engine) writeRestart(name string, st translate.RestartState) error {
	return atomicfile.WriteJSON(e.restartFile(name), st, 0o600)
}

// Supervise applies restart policies and keeps health checks running for
// the namespace's berth containers until ctx ends. berth's helper runs it,
// so both work while no berth command runs.
func (e *Engine) Supervise(ctx context.Context) error {
	rt, ok := e.Runtime.(eventRuntime)
	if !ok {
		return fmt.Errorf("supervise: the runtime has no event stream")
	}
	events, errs := rt.Subscribe(ctx)
	s := &supervisor{e: e, probes: map[string]context.CancelFunc{}}
	defer s.stopAll()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	s.syncHealth(ctx)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return <-errs
			}
			if ev.Action == "die" {
				code, _ := strconv.Atoi(ev.Attributes["exitCode"])
				go s.onExit(ctx, ev.ContainerID, code)
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
	e      *Engine
	mu     sync.Mutex
	probes map[string]context.CancelFunc
}

// onExit restarts a container that exited on its own, as its policy says.
func (s *supervisor) onExit(ctx context.Context, id string, code int) {
	infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{record.LabelName: id})
	if err != nil || len(infos) == 0 {
		return
	}
	c := s.e.fromInfo(infos[0])
	if c.Stopping || c.Oneoff {
		return // stopped by a person: stays stopped
	}
	restart, delay, st := translate.ShouldRestart(c.Restart, code, s.e.readRestart(c.Name), time.Now())
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
	unlock, err := s.e.lock(lctx, c.Project)
	cancel()
	if err == nil {
		defer unlock()
	}
	if infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{record.LabelName: id}); err != nil ||
		len(infos) == 0 || s.e.fromInfo(infos[0]).Stopping || infos[0].Status == ctrd.TaskRunning {
		return
	}
	st.LastStart = time.Now()
	if err := s.e.writeRestart(c.Name, st); err != nil {
		return
	}
	_ = s.e.launch(ctx, c.Name)
}

// syncHealth runs one health monitor per running container that has a
// health check, and stops the monitors of the others.
func (s *supervisor) syncHealth(ctx context.Context) {
	infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{record.LabelVersion: "berth"})
	if err != nil {
		return
	}
	want := map[string]Container{}
	for _, info := range infos {
		c := s.e.fromInfo(info)
		if c.Running() && c.Health != nil {
			want[c.Name] = c
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, cancel := range s.probes {
		if _, ok := want[name]; !ok {
			cancel()
			delete(s.probes, name)
		}
	}
	for name, c := range want {
		if _, ok := s.probes[name]; ok {
			continue
		}
		pctx, cancel := context.WithCancel(ctx)
		s.probes[name] = cancel
		go s.e.monitorHealth(pctx, c)
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
func (e *Engine) monitorHealth(ctx context.Context, c Container) {
	if c.Health == nil {
		return
	}
	_ = e.checkHealth(ctx, c.ID, *c.Health, c.StartedAt, func(*HealthState, HealthProbe) (bool, error) { return false, nil })
}
