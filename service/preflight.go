package service

import (
	"fmt"
	"slices"

	"github.com/berth-dev/berth/service/plan"
)

// Preflighter is a dependency that can say, before anything is created, that it will
// not work: the network backend's binaries, the helper's executable.
type Preflighter interface {
	Preflight() error
}

// preflight checks what the plan will need before its first step, so that a missing
// piece is one error and nothing half-created (a missing berth-logger was found after
// four containers were created).
func (e *Engine) preflight(p *Plan) error {
	starts := slices.ContainsFunc(p.Ops, func(op *Op) bool { return op.Kind == plan.OpStart || op.Kind == plan.OpRestart })
	if starts && e.LoggerErr != nil {
		return fmt.Errorf("preflight: %w", e.LoggerErr)
	}
	creates := slices.ContainsFunc(p.Ops, func(op *Op) bool {
		return op.Resource == plan.ResNetwork && (op.Kind == plan.OpCreate || op.Kind == plan.OpRecreate)
	})
	if !creates {
		return nil
	}
	for _, dep := range []any{e.Networks, e.Helper} {
		if pf, ok := dep.(Preflighter); ok {
			if err := pf.Preflight(); err != nil {
				return fmt.Errorf("preflight: %w", err)
			}
		}
	}
	return nil
}
