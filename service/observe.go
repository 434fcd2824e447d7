package service

import (
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/procfs"
	"github.com/berth-dev/berth/internal/record"
)

// fromInfo reads a container from containerd's answer and its state file; labels are
// the source of truth, so ps, logs and down need no Compose file.
func (e *Engine) fromInfo(info ctrd.ContainerInfo) Container {
	c := Container{Container: record.Decode(info.Labels), ID: info.ID, Labels: info.Labels}
	if c.Name == "" {
		c.Name = info.ID
	}
	c.Image, c.PID, c.Created, c.ExitCode, c.ExitedAt = info.Image, info.PID, info.Created, info.ExitCode, info.ExitedAt
	st, found := e.readStateFile(c.Name)
	c.StartedAt, c.Stopping = st.StartedAt, st.Stopping
	if !found {
		c.StartedAt, c.Stopping = c.LegacyStartedAt, c.LegacyStopping
	}
	// a running task's process knows when it started, restarts by the helper or
	// containerd included: no file is written per start
	if info.PID != 0 && (info.Status == ctrd.TaskRunning || info.Status == ctrd.TaskPaused) {
		if t, err := e.processes().StartedAt(info.PID, time.Now()); err == nil {
			// a start since an old berth wrote its labels lifted their stop mark
			if !found && t.After(c.LegacyStartedAt) {
				c.Stopping = false
			}
			c.StartedAt = t
		}
	}
	switch info.Status {
	case ctrd.TaskRunning:
		c.State = StateRunning
	case ctrd.TaskPaused:
		c.State = StatePaused
	case ctrd.TaskStopped:
		c.State = StateExited
	default:
		c.State = StateCreated
	}
	return c
}

func (e *Engine) processes() Processes {
	if e.Processes != nil {
		return e.Processes
	}
	return procfs.Host()
}
