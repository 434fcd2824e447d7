package service

import "github.com/berth-dev/berth/service/plan"

// The planner's types, as the engine's callers see them.
type (
	Plan           = plan.Plan
	Op             = plan.Op
	OpKind         = plan.OpKind
	Container      = plan.Container
	Observed       = plan.Observed
	Desired        = plan.Desired
	DesiredService = plan.DesiredService
	Resource       = plan.Resource
	Dep            = plan.Dep
	UpOptions      = plan.UpOptions
	DownOptions    = plan.DownOptions
)

// Container states, as Docker names them.
const (
	StateCreated = plan.StateCreated
	StateRunning = plan.StateRunning
	StatePaused  = plan.StatePaused
	StateExited  = plan.StateExited
)
