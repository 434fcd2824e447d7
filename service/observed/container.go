// Package observed is a container as berth observes it: the record berth wrote on it,
// its task as containerd reports it, and its state from its state directory.
package observed

import (
	"time"

	"github.com/berth-dev/berth/internal/record"
)

// Container states, as Docker names them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StatePaused     = "paused"
	StateRestarting = "restarting"
	StateExited     = "exited"
	StateDead       = "dead"
)

// Container is an observed container of the project: the record berth wrote on it,
// its task as containerd reports it, and its runtime state from its state directory.
type Container struct {
	record.Container
	ID        string
	Image     string
	State     string
	ExitCode  int
	PID       uint32
	Labels    map[string]string // as written, the service's own included
	Created   time.Time
	StartedAt time.Time
	ExitedAt  time.Time
	// Stopping is set while a person's stop or a removal is under way: the helper
	// must not restart the container, and up must not count it as running.
	Stopping bool
}

// Running says whether the container's task runs (or is paused) and is
// not being stopped.
func (c Container) Running() bool {
	return (c.State == StateRunning || c.State == StatePaused) && !c.Stopping
}
