package plan

import "github.com/berth-dev/berth/service/observed"

// Container is an observed container of the project (service/observed).
type Container = observed.Container

// Container states, as Docker names them.
const (
	StateCreated    = observed.StateCreated
	StateRunning    = observed.StateRunning
	StatePaused     = observed.StatePaused
	StateRestarting = observed.StateRestarting
	StateExited     = observed.StateExited
	StateDead       = observed.StateDead
)
