package service

import (
	"context"
)

// slots bound the operations doing work at once (CNI, runc, deleting), while
// operations that only wait — a stop's grace period, a health check — take
// none: every container gets its stop signal at once, as with Docker Compose,
// and no wait keeps another service from being created. A runner with slots
// is executed with no bound of its own (plan.Execute's parallel = the plan's ops).
type slots chan struct{}

func newSlots(n int) slots { return make(slots, max(n, 1)) }

// do runs fn once a slot is free; a nil slots runs it at once.
func (s slots) do(ctx context.Context, fn func() error) error {
	if s == nil {
		return fn()
	}
	select {
	case s <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s }()
	return fn()
}
