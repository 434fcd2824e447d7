package service

import "github.com/berth-dev/berth/service/runstate"

// runState is what changes while a container lives (runstate.State).
type runState = runstate.State

func (e *Engine) readState(name string) runState { return e.store().ReadState(name) }

// updateState changes the runtime state of an existing container.
func (e *Engine) updateState(name string, change func(*runState)) error {
	return e.store().UpdateState(name, change)
}
