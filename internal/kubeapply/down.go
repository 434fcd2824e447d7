package kubeapply

import (
	"context"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/progress"
)

// DownOptions are what `berth kube down` removes.
type DownOptions struct {
	Project string
	// Volumes removes the claims too (their data with them).
	Volumes bool
	Timeout time.Duration
	Tooling string
}

// Down deletes the members of the project's set, workloads first, with
// foreground propagation, and waits until they are gone. Claims stay (and
// the parent, listing them) unless Volumes. Nothing outside the set is
// touched: no Namespace, no object without the set's label and berth's
// field manager.
func (c *Client) Down(ctx context.Context, opts DownOptions) error {
	set, err := c.loadApplySet(ctx, opts.Project)
	if err != nil || !set.exists {
		return err
	}
	ms, err := c.members(ctx, set, set.current)
	if err != nil {
		return err
	}
	// workloads first: their pods stop using the rest
	slices.SortStableFunc(ms, func(a, b member) int { return kindRank(b.kind) - kindRank(a.kind) })
	var deleted, kept []member
	for _, m := range ms {
		if m.kind.gvk.Kind == "PersistentVolumeClaim" && !opts.Volumes {
			kept = append(kept, m)
			continue
		}
		c.sink.Event(progress.Event{ID: m.key().String(), Status: "Removing"})
		if err := c.deleteMember(ctx, m); err != nil {
			return err
		}
		deleted = append(deleted, m)
	}
	if err := c.waitGone(ctx, deleted, opts.Timeout); err != nil {
		return err
	}
	for _, m := range deleted {
		c.sink.Event(progress.Event{ID: m.key().String(), Status: "Removed", Done: true})
	}
	if len(kept) > 0 {
		// the claims stay members: a later down -v finds them
		return c.writeParent(ctx, set, groupKinds(nil, kept), opts.Tooling)
	}
	return c.deleteParent(ctx, set)
}

func kindRank(k kindInfo) int {
	return slices.IndexFunc(kinds, func(o kindInfo) bool { return o.gvk == k.gvk })
}
