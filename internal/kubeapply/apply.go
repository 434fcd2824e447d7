package kubeapply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/progress"
)

// UpOptions are what `berth kube up` applies and how.
type UpOptions struct {
	Project string
	// Objects are the converted project, in internal/kube's apply order.
	Objects []kube.Object
	// ForceConflicts takes over fields another field manager owns.
	ForceConflicts bool
	// Wait waits until every workload is available and every Job complete.
	Wait bool
	// Timeout bounds each wait (Jobs others depend on, and Wait); 0: none.
	Timeout time.Duration
	// Prune deletes the set's members that are no longer in Objects. Off
	// when only some services are applied.
	Prune bool
	// Tooling is the ApplySet tooling annotation, "berth/<version>".
	Tooling string
}

// Up applies the project as an ApplySet: the parent first lists the kinds of
// the old and the new members (so that an interrupted up leaks nothing),
// then the objects are applied — Jobs that others depend on first, waited
// for —, the members that left the project are pruned (claims are kept:
// their data goes only with `kube down -v`), and the parent is rewritten with
// the kinds that remain.
func (c *Client) Up(ctx context.Context, opts UpOptions) error {
	set, err := c.loadApplySet(ctx, opts.Project)
	if err != nil {
		return err
	}
	ds, err := prepare(opts.Objects, set, c.Namespace)
	if err != nil {
		return err
	}
	old, err := c.members(ctx, set, unionKinds(set.current, groupKinds(ds, nil)))
	if err != nil {
		return err
	}
	existing := map[objectKey]member{}
	for _, m := range old {
		existing[m.key()] = m
	}
	if err := c.writeParent(ctx, set, unionKinds(set.current, groupKinds(ds, nil)), opts.Tooling); err != nil {
		return err
	}
	if err := c.applyInOrder(ctx, ds, existing, opts); err != nil {
		return err
	}
	if !opts.Prune {
		return c.waitIfAsked(ctx, ds, opts)
	}
	kept, err := c.prune(ctx, ds, old, opts.Timeout)
	if err != nil {
		return err
	}
	if err := c.writeParent(ctx, set, groupKinds(ds, kept), opts.Tooling); err != nil {
		return err
	}
	return c.waitIfAsked(ctx, ds, opts)
}

func (c *Client) waitIfAsked(ctx context.Context, ds []desired, opts UpOptions) error {
	if !opts.Wait {
		return nil
	}
	var ws []desired
	for _, d := range ds {
		if d.isWorkload() {
			ws = append(ws, d)
		}
	}
	return c.wait(ctx, ws, opts.Timeout)
}

// applyInOrder applies the objects in waves: each wave is what waits for no
// Job still to complete; the Jobs of a wave that later objects wait for are
// waited for before the next one, as a local up starts a service after the
// one-shot steps it depends on.
func (c *Client) applyInOrder(ctx context.Context, ds []desired, existing map[objectKey]member, opts UpOptions) error {
	awaited := map[string]bool{}
	for _, d := range ds {
		for _, j := range d.afterJobs {
			awaited[j] = true
		}
	}
	complete := map[string]bool{}
	remaining := ds
	for len(remaining) > 0 {
		var now, later []desired
		for _, d := range remaining {
			if allIn(d.afterJobs, complete) {
				now = append(now, d)
			} else {
				later = append(later, d)
			}
		}
		if len(now) == 0 {
			return fmt.Errorf("%s waits for Jobs that are not in the project: %s", later[0].key(), strings.Join(later[0].afterJobs, ", "))
		}
		var jobs []desired
		for _, d := range now {
			if err := c.applyObject(ctx, d, existing, opts); err != nil {
				return err
			}
			if d.kind.gvk.Kind == "Job" {
				if awaited[d.obj.GetName()] {
					jobs = append(jobs, d)
				} else {
					complete[d.obj.GetName()] = true
				}
			}
		}
		if err := c.wait(ctx, jobs, opts.Timeout); err != nil {
			return err
		}
		for _, j := range jobs {
			complete[j.obj.GetName()] = true
		}
		remaining = later
	}
	return nil
}

func allIn(names []string, set map[string]bool) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}

// applyObject server-side applies one object and reports whether it was
// created, changed or left as it was. A Job whose spec changed is deleted
// first: its template is immutable.
func (c *Client) applyObject(ctx context.Context, d desired, existing map[objectKey]member, opts UpOptions) error {
	id := d.key().String()
	prev, had := existing[d.key()]
	if had && d.kind.gvk.Kind == "Job" && prev.obj.GetAnnotations()[annJobHash] != d.obj.GetAnnotations()[annJobHash] {
		c.sink.Event(progress.Event{ID: id, Status: "Recreating", Text: "its spec changed; a Job's template is immutable"})
		if err := c.deleteMember(ctx, prev); err != nil {
			return err
		}
		if err := c.waitGone(ctx, []member{prev}, opts.Timeout); err != nil {
			return err
		}
		had = false
	}
	c.sink.Event(progress.Event{ID: id, Status: "Applying"})
	got, err := c.apply(ctx, d, opts.ForceConflicts, false)
	if err != nil {
		c.sink.Event(progress.Event{ID: id, Status: "Error", Done: true, Err: true})
		return err
	}
	status := "Created"
	switch {
	case had && got.GetResourceVersion() == prev.obj.GetResourceVersion():
		status = "Unchanged"
	case had:
		status = "Configured"
	}
	c.sink.Event(progress.Event{ID: id, Status: status, Done: true})
	return nil
}

// apply is one server-side apply of d with berth's field manager; a conflict
// names the other field manager and the fields.
func (c *Client) apply(ctx context.Context, d desired, force, dryRun bool) (*unstructured.Unstructured, error) {
	o := metav1.ApplyOptions{FieldManager: FieldManager, Force: force}
	if dryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	got, err := c.resource(d.kind).Apply(ctx, d.obj.GetName(), d.obj, o)
	if err != nil {
		return nil, applyError(d, err)
	}
	return got, nil
}

// applyError rewrites a field-manager conflict into one line per manager.
func applyError(d desired, err error) error {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return fmt.Errorf("apply %s: %w", d.key(), err)
	}
	byManager := map[string][]string{}
	var managers []string
	for _, cause := range status.Status().Details.Causes {
		// "conflict with \"kubectl-edit\" using apps/v1"
		manager := cause.Message
		if _, rest, ok := strings.Cut(cause.Message, `conflict with "`); ok {
			manager, _, _ = strings.Cut(rest, `"`)
		}
		if !slices.Contains(managers, manager) {
			managers = append(managers, manager)
		}
		byManager[manager] = append(byManager[manager], cause.Field)
	}
	if len(managers) == 0 {
		return fmt.Errorf("apply %s: %w", d.key(), err)
	}
	var parts []string
	for _, m := range managers {
		parts = append(parts, fmt.Sprintf("field manager %q owns %s", m, strings.Join(byManager[m], ", ")))
	}
	return fmt.Errorf("apply %s: conflict: %s; change them back, or take them over with --force-conflicts",
		d.key(), strings.Join(parts, "; "))
}

// prune deletes the old members that are not desired any more, claims
// excepted (returned: they stay members), and waits until they are gone.
func (c *Client) prune(ctx context.Context, ds []desired, old []member, timeout time.Duration) ([]member, error) {
	want := map[objectKey]bool{}
	for _, d := range ds {
		want[d.key()] = true
	}
	var kept, deleted []member
	for _, m := range old {
		switch {
		case want[m.key()]:
		case m.kind.gvk.Kind == "PersistentVolumeClaim":
			c.sink.Event(progress.Event{ID: m.key().String(), Status: "Kept", Text: "no longer used; berth kube down -v removes it", Done: true})
			kept = append(kept, m)
		default:
			c.sink.Event(progress.Event{ID: m.key().String(), Status: "Pruning"})
			if err := c.deleteMember(ctx, m); err != nil {
				return nil, err
			}
			deleted = append(deleted, m)
		}
	}
	if err := c.waitGone(ctx, deleted, timeout); err != nil {
		return nil, err
	}
	for _, m := range deleted {
		c.sink.Event(progress.Event{ID: m.key().String(), Status: "Pruned", Done: true})
	}
	return kept, nil
}

// waitGone polls until every object is deleted.
func (c *Client) waitGone(ctx context.Context, ms []member, timeout time.Duration) error {
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	for len(ms) > 0 {
		var left []member
		for _, m := range ms {
			ok, err := c.gone(ctx, m.kind, m.obj.GetName(), m.obj.GetUID())
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("wait for %s to be deleted: %w", m.key(), err)
			}
			if !ok {
				left = append(left, m)
			}
		}
		ms = left
		if len(ms) == 0 {
			break
		}
		if err := sleep(ctx, pollInterval); err != nil {
			if errors.Is(err, errTimeout) {
				return fmt.Errorf("%s still there after %s (finalizers: %s)", ms[0].key(), timeout, strings.Join(ms[0].obj.GetFinalizers(), ", "))
			}
			return err
		}
	}
	return nil
}

// pollInterval is how often waits read the cluster.
const pollInterval = 250 * time.Millisecond

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, errTimeout)
}

var errTimeout = errors.New("timed out")

// sleep waits d; an error when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
