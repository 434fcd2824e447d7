package service

import (
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/service/runstate"
)

// store is the engine's view of its containers' state, shared with the helper.
func (e *Engine) store() runstate.Store {
	return runstate.Store{DataRoot: e.DataRoot, Runtime: e.Runtime, Processes: e.Processes, Logger: e.Logger, LoggerErr: e.LoggerErr}
}

// fromInfo reads a container from containerd's answer and its state file.
func (e *Engine) fromInfo(info ctrd.ContainerInfo) Container { return e.store().FromInfo(info) }
