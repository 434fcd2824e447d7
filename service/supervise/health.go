package supervise

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/runspec"
)

// Health states, as Docker reports them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// HealthState is a container's health as Docker keeps it: the status, the
// count of consecutive failures and the last probes' results.
type HealthState struct {
	Status        string        `json:"Status"`
	FailingStreak int           `json:"FailingStreak"`
	Log           []HealthProbe `json:"Log"`
}

// HealthProbe is one probe's result.
type HealthProbe struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// maxHealthLog is how many probe results Docker keeps.
const maxHealthLog = 5

// record adds a probe's result and moves the status as Docker does:
// failures in the start period do not count, retries failures in a row make
// the container unhealthy, one success makes it healthy.
func (h *HealthState) record(p HealthProbe, inStartPeriod bool, retries int) {
	h.Log = append(h.Log, p)
	if len(h.Log) > maxHealthLog {
		h.Log = h.Log[len(h.Log)-maxHealthLog:]
	}
	if p.ExitCode == 0 {
		h.Status, h.FailingStreak = HealthHealthy, 0
		return
	}
	if inStartPeriod && h.Status != HealthHealthy {
		return
	}
	h.FailingStreak++
	if h.FailingStreak >= retries {
		h.Status = HealthUnhealthy
	}
}

// HealthCheck is a container's effective health check (runspec owns the type).
type HealthCheck = runspec.HealthCheck

// Execer runs processes in containers.
type Execer interface {
	Exec(ctx context.Context, id string, spec ctrd.ExecSpec) (int, error)
}

// probe runs the check once and returns its result.
func probe(ctx context.Context, rt Execer, id string, hc HealthCheck) HealthProbe {
	res := HealthProbe{Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	var out lockedBuffer
	code, err := rt.Exec(ctx, id, ctrd.ExecSpec{Args: hc.Argv(), Stdout: &out, Stderr: &out})
	res.End, res.ExitCode, res.Output = time.Now(), code, strings.TrimSpace(out.String())
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.ExitCode, res.Output = -1, fmt.Sprintf("health check timed out after %s", hc.Timeout)
	case err != nil:
		res.ExitCode, res.Output = -1, strings.TrimSpace(res.Output+" "+err.Error())
	}
	return res
}

// Check probes the container on its schedule (start_interval in the
// start period, interval after), records each result for ps, and hands the
// state to decide, which says when to stop. It returns ctx's error when ctx
// ends first.
func Check(ctx context.Context, rt Execer, f Files, id string, hc HealthCheck, started time.Time,
	decide func(*HealthState, HealthProbe) (done bool, err error)) error {
	state := f.ReadHealth(id)
	if state == nil {
		state = &HealthState{Status: HealthStarting}
	}
	for {
		inStart := time.Since(started) < hc.StartPeriod
		wait := hc.Interval
		if inStart {
			wait = hc.StartInterval
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		res := probe(ctx, rt, id, hc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		state.record(res, inStart, hc.Retries)
		if err := f.writeHealth(id, state); err != nil {
			return err
		}
		if done, err := decide(state, res); done || err != nil {
			return err
		}
	}
}

// WaitHealthy probes until the container is healthy, or fails with the
// last output once it is unhealthy.
func WaitHealthy(ctx context.Context, rt Execer, f Files, id string, hc HealthCheck, started time.Time) error {
	if h := f.ReadHealth(id); h != nil && h.Status == HealthHealthy {
		return nil
	}
	return Check(ctx, rt, f, id, hc, started, func(st *HealthState, res HealthProbe) (bool, error) {
		switch st.Status {
		case HealthHealthy:
			return true, nil
		case HealthUnhealthy:
			output := res.Output
			if output == "" {
				output = "(no output)"
			}
			return true, fmt.Errorf("container %s is unhealthy: %s", id, output)
		}
		return false, nil
	})
}

// lockedBuffer is one buffer for stdout and stderr: the two copy
// goroutines write concurrently (PLATFORM.md).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4096 {
		return len(p), nil // keep what a person can read
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
