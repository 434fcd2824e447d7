package service

import (
	"context"
	"time"

	"github.com/berth-dev/berth/service/attach"
)

// Attached is the engine as an attached up's session uses it.
func (e *Engine) Attached() attach.Engine { return attachedEngine{e} }

type attachedEngine struct{ e *Engine }

func (a attachedEngine) Wait(ctx context.Context, projectName string, services []string, exited func(Container, int)) error {
	return a.e.Wait(ctx, projectName, services, func(r WaitResult) { exited(r.Container, r.ExitCode) })
}

func (a attachedEngine) Stop(ctx context.Context, projectName string, timeout *time.Duration) error {
	_, err := a.e.Stop(ctx, projectName, LifecycleRequest{Timeout: timeout})
	return err
}

func (a attachedEngine) Kill(ctx context.Context, projectName string) error {
	_, err := a.e.Kill(ctx, projectName, LifecycleRequest{Signal: "SIGKILL"})
	return err
}
