package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
)

// Docker's restart back-off: the first restart is quick, each next one
// waits twice as long, up to a minute; a run of ten seconds resets it.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second
)

// eventRuntime is what supervision needs beyond Runtime: containerd's
// event stream.
type eventRuntime interface {
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

// restartPolicy folds restart: and deploy.restart_policy into Docker's
// forms: no, always, unless-stopped, on-failure[:N].
func restartPolicy(s types.ServiceConfig) string {
	if s.Restart != "" {
		return s.Restart
	}
	if s.Deploy == nil || s.Deploy.RestartPolicy == nil {
		return "no"
	}
	rp := s.Deploy.RestartPolicy
	switch rp.Condition {
	case "none":
		return "no"
	case "on-failure":
		if rp.MaxAttempts != nil {
			return "on-failure:" + strconv.FormatUint(*rp.MaxAttempts, 10)
		}
		return "on-failure"
	}
	return "always"
}

// restartState is what supervision remembers of a container's restarts.
type restartState struct {
	Count     int       `json:"count"`
	Fails     int       `json:"fails"` // restarts since the last long run: the back-off exponent
	LastStart time.Time `json:"lastStart"`
}

// shouldRestart applies a policy to an exit: whether to restart, and the
// state after it.
func shouldRestart(policy string, exitCode int, st restartState, now time.Time) (bool, time.Duration, restartState) {
	name, maxText, _ := strings.Cut(policy, ":")
	switch name {
	case "always", "unless-stopped":
	case "on-failure":
		if exitCode == 0 {
			return false, 0, st
		}
		if limit, err := strconv.Atoi(maxText); err == nil && limit > 0 && st.Count >= limit {
			return false, 0, st
		}
	default:
		return false, 0, st
	}
	if !st.LastStart.IsZero() && now.Sub(st.LastStart) >= restartResetAfter {
		st.Fails = 0
	}
	delay := restartFirstDelay << min(st.Fails, 20)
	if delay > restartMaxDelay {
		delay = restartMaxDelay
	}
	st.Count++
	st.Fails++
	return true, delay, st
}

func (e *Engine) restartFile(name string) string {
	return filepath.Join(e.containerDir(name), "restart.json")
}

func (e *Engine) readRestart(name string) restartState {
	var st restartState
	if b, err := os.ReadFile(e.restartFile(name)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (e *Engine) writeRestart(name string, st restartState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(e.restartFile(name), b, 0o600)
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
	infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{project.LabelContainerName: id})
	if err != nil || len(infos) == 0 {
		return
	}
	c := fromInfo(infos[0])
	if c.Labels[LabelStopping] == "true" || c.Oneoff {
		return // stopped by a person: stays stopped
	}
	restart, delay, st := shouldRestart(c.Labels[LabelRestart], code, s.e.readRestart(c.Name), time.Now())
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
	unlock, err := s.e.lock(lctx, c.Labels[project.LabelProject])
	cancel()
	if err == nil {
		defer unlock()
	}
	if infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{project.LabelContainerName: id}); err != nil ||
		len(infos) == 0 || infos[0].Labels[LabelStopping] == "true" || infos[0].Status == ctrd.TaskRunning {
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
	infos, err := s.e.Runtime.ListContainers(ctx, map[string]string{project.LabelVersion: "berth"})
	if err != nil {
		return
	}
	want := map[string]Container{}
	for _, info := range infos {
		c := fromInfo(info)
		if c.Running() && c.Labels[LabelHealthcheck] != "" {
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
	hc := healthCheckFromLabel(c.Labels[LabelHealthcheck])
	if hc == nil {
		return
	}
	_ = e.checkHealth(ctx, c.ID, *hc, c.StartedAt, func(*HealthState, HealthProbe) (bool, error) { return false, nil })
}
