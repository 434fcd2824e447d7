package service

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// runState is what changes while a container lives. Labels are written once, at
// creation: patching them cost a containerd round trip per change (up to four per
// start), so this lives in the container's state directory instead.
type runState struct {
	// StartedAt was written at each start by berth up to issue 19's third round;
	// now the running process's start time is read instead (fromInfo).
	StartedAt time.Time `json:"startedAt,omitzero"`
	Stopping  bool      `json:"stopping,omitempty"`
}

func (e *Engine) stateFile(name string) string {
	return filepath.Join(e.containerDir(name), "state.json")
}

func (e *Engine) readState(name string) runState {
	st, _ := e.readStateFile(name)
	return st
}

// readStateFile reads the state and whether the container has a state file.
func (e *Engine) readStateFile(name string) (st runState, found bool) {
	b, err := os.ReadFile(e.stateFile(name))
	if err != nil {
		return st, false
	}
	_ = json.Unmarshal(b, &st)
	return st, true
}

// updateState changes the runtime state of an existing container.
func (e *Engine) updateState(name string, change func(*runState)) error {
	old := e.readState(name)
	st := old
	change(&st)
	if st == old {
		return nil // a missing file reads as the zero state too
	}
	if err := os.MkdirAll(e.containerDir(name), 0o700); err != nil {
		return err
	}
	// a crash of the machine stops every task: a start time or stop mark it loses
	// means nothing after it (and readState takes an unreadable file as empty)
	return atomicfile.ReplaceJSON(e.stateFile(name), st, 0o600)
}
