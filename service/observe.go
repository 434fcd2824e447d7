package service

import (
	"github.com/berth-dev/berth/internal/ctrd"
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
	st := e.readState(c.Name)
	c.StartedAt, c.Stopping = st.StartedAt, st.Stopping
	if st.StartedAt.IsZero() {
		c.StartedAt, c.Stopping = c.LegacyStartedAt, c.Stopping || c.LegacyStopping
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
