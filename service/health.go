package service

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

// checkHealth probes the container on its schedule (start_interval in the
// start period, interval after), records each result for ps, and hands the
// state to decide, which says when to stop. It returns ctx's error when ctx
// ends first.
func (e *Engine) checkHealth(ctx context.Context, id string, hc HealthCheck, started time.Time,
	decide func(*HealthState, HealthProbe) (done bool, err error)) error {
	state := e.ReadHealth(id)
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
		res := probe(ctx, e.Runtime, id, hc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		state.record(res, inStart, hc.Retries)
		if err := e.writeHealth(id, state); err != nil {
			return err
		}
		if done, err := decide(state, res); done || err != nil {
			return err
		}
	}
}

// waitHealthy probes until the container is healthy, or fails with the
// last output once it is unhealthy.
func (e *Engine) waitHealthy(ctx context.Context, id string, hc HealthCheck, started time.Time) error {
	if h := e.ReadHealth(id); h != nil && h.Status == HealthHealthy {
		return nil
	}
	return e.checkHealth(ctx, id, hc, started, func(st *HealthState, res HealthProbe) (bool, error) {
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
