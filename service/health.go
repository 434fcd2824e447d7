package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
)

// HealthCheck is a container's effective health check, with Docker's
// defaults filled in. It is stored as a label so that whoever watches the
// container later needs no Compose file.
type HealthCheck struct {
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"start_period"`
	StartInterval time.Duration `json:"start_interval"`
	Retries       int           `json:"retries"`
}

// Docker's defaults.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthRetries       = 3
)

// effectiveHealthCheck merges the service's healthcheck over the image's,
// key by key, as Docker does; nil means the container has none.
func effectiveHealthCheck(s *types.HealthCheckConfig, image *ctrd.HealthConfig) *HealthCheck {
	hc := HealthCheck{Interval: defaultHealthInterval, Timeout: defaultHealthTimeout,
		StartInterval: defaultHealthStartInterval, Retries: defaultHealthRetries}
	if image != nil {
		hc.Test = image.Test
		setDur(&hc.Interval, image.Interval)
		setDur(&hc.Timeout, image.Timeout)
		setDur(&hc.StartPeriod, image.StartPeriod)
		setDur(&hc.StartInterval, image.StartInterval)
		if image.Retries > 0 {
			hc.Retries = image.Retries
		}
	}
	if s != nil {
		if s.Disable {
			return nil
		}
		if len(s.Test) > 0 {
			hc.Test = s.Test
		}
		setDurPtr(&hc.Interval, s.Interval)
		setDurPtr(&hc.Timeout, s.Timeout)
		setDurPtr(&hc.StartPeriod, s.StartPeriod)
		setDurPtr(&hc.StartInterval, s.StartInterval)
		if s.Retries != nil {
			hc.Retries = int(*s.Retries)
		}
	}
	if len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	return &hc
}

func setDur(d *time.Duration, v time.Duration) {
	if v > 0 {
		*d = v
	}
}

func setDurPtr(d *time.Duration, v *types.Duration) {
	if v != nil && *v > 0 {
		*d = time.Duration(*v)
	}
}

// argv is the probe's command line: CMD runs as is, CMD-SHELL through
// /bin/sh -c, a bare string (image configs) too.
func (hc HealthCheck) argv() []string {
	switch hc.Test[0] {
	case "CMD":
		return hc.Test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	}
	return []string{"/bin/sh", "-c", strings.Join(hc.Test, " ")}
}

func (hc HealthCheck) label() string {
	b, _ := json.Marshal(hc)
	return string(b)
}

func healthCheckFromLabel(v string) *HealthCheck {
	if v == "" {
		return nil
	}
	var hc HealthCheck
	if json.Unmarshal([]byte(v), &hc) != nil || len(hc.Test) == 0 {
		return nil
	}
	return &hc
}

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
	code, err := rt.Exec(ctx, id, ctrd.ExecSpec{Args: hc.argv(), Stdout: &out, Stderr: &out})
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
