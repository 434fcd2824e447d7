package supervise

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Files is where supervision keeps a container's health and restart records: in
// the container's state directory, beside what the engine keeps there.
type Files struct {
	// Dir is the container's state directory.
	Dir func(name string) string
	// Stopping says whether a person's stop or a removal of the container is under
	// way: it then gets no more health writes.
	Stopping func(name string) bool
}

func (f Files) healthFile(name string) string  { return filepath.Join(f.Dir(name), "health.json") }
func (f Files) restartFile(name string) string { return filepath.Join(f.Dir(name), "restart.json") }

// ReadHealth returns the container's last recorded health, or nil when it has no
// health check or none ran yet.
func (f Files) ReadHealth(name string) *HealthState {
	b, err := os.ReadFile(f.healthFile(name))
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
func (f Files) writeHealth(name string, h *HealthState) error {
	if f.Stopping != nil && f.Stopping(name) {
		return nil
	}
	err := atomicfile.WriteJSON(f.healthFile(name), h, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the container's directory is gone: it was removed
	}
	return err
}

func (f Files) readRestart(name string) restartState {
	var st restartState
	if b, err := os.ReadFile(f.restartFile(name)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (f Files) writeRestart(name string, st restartState) error {
	return atomicfile.WriteJSON(f.restartFile(name), st, 0o600)
}

// Reset forgets the container's restarts and health: a person's start begins afresh.
func (f Files) Reset(name string) error {
	for _, p := range []string{f.restartFile(name), f.healthFile(name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
