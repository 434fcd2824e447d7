package service

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
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

func (e *Engine) healthFile(name string) string {
	return filepath.Join(e.containerDir(name), "health.json")
}

// ReadHealth returns the container's last recorded health, or nil when it
// has no health check or none ran yet.
func (e *Engine) ReadHealth(name string) *HealthState {
	b, err := os.ReadFile(e.healthFile(name))
	if err != nil {
		return nil
	}
	var h HealthState
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

// writeHealth saves the state atomically: ps may read it at any moment. A container
// being stopped or removed gets no more writes: removal deletes its directory, and a
// write landing meanwhile would make that fail (the race TestE2EUpErrors met).
func (e *Engine) writeHealth(name string, h *HealthState) error {
	if e.readState(name).Stopping {
		return nil
	}
	err := atomicfile.WriteJSON(e.healthFile(name), h, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the container's directory is gone: it was removed
	}
	return err
}
