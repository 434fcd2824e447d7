package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/fscopy"
	"github.com/berth-dev/berth/internal/watch"
)

// WatchApplier carries out watch's actions on the project's containers: the copy goes
// through each running replica's /proc/PID/root, restart and rebuild through the
// engine's own operations.
func (e *Engine) WatchApplier(p *types.Project, build build.Options, out, errOut io.Writer) watch.Applier {
	return &engineApplier{eng: e, p: p, build: build, out: out, errOut: errOut, warn: e.warn}
}

// engineApplier carries out watch's actions on the project's containers
// through the engine: the copy goes through each running replica's
// /proc/PID/root, restart and rebuild through the engine's own operations.
type engineApplier struct {
	eng   *Engine
	p     *types.Project
	build build.Options
	// out and errOut receive the output of sync+exec commands.
	out, errOut io.Writer
	warn        func(string)

	mu sync.Mutex
	// owners caches the owner of synced files by container ID: a recreated
	// container has a new ID and is looked up again.
	owners map[string]fscopy.Owner
}

var _ watch.Applier = (*engineApplier)(nil)

// replicas are the running service containers of a service, one-offs left
// out.
func (a *engineApplier) replicas(ctx context.Context, svc string) ([]Container, error) {
	cs, err := a.eng.Containers(ctx, a.p.Name)
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, c := range cs {
		if c.Service == svc && !c.Oneoff && c.Running() && c.PID != 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("service %q has no running container", svc)
	}
	return out, nil
}

// Sync writes the changes into every running replica, side by side.
func (a *engineApplier) Sync(ctx context.Context, svc string, changes []watch.FileChange) error {
	cs, err := a.replicas(ctx, svc)
	if err != nil {
		return err
	}
	list := make([]fscopy.Change, len(changes))
	for i, ch := range changes {
		list[i] = fscopy.Change{Source: ch.HostPath, Target: ch.Target, Delete: ch.Deleted}
	}
	var g errgroup.Group
	for _, c := range cs {
		g.Go(func() error {
			root := fscopy.ProcRoot(c.PID)
			owner, err := a.owner(ctx, c, root)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			st, err := fscopy.Sync(root, list, owner)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			for _, p := range st.Skipped {
				a.warn(fmt.Sprintf("service %q: %s is not a regular file, directory or symlink: not synced", svc, p))
			}
			return nil
		})
	}
	return g.Wait()
}

// owner is the user the container runs as, from the service's user: or
// the image's, resolved in the container's own /etc/passwd.
func (a *engineApplier) owner(ctx context.Context, c Container, root string) (fscopy.Owner, error) {
	a.mu.Lock()
	o, ok := a.owners[c.ID]
	a.mu.Unlock()
	if ok {
		return o, nil
	}
	spec := a.p.Services[c.Service].User
	if spec == "" {
		img, err := a.eng.Runtime.ImageConfig(ctx, c.Image)
		if err != nil {
			return fscopy.Owner{}, fmt.Errorf("read the user of image %s: %w", c.Image, err)
		}
		spec = img.Config.User
	}
	o, err := fscopy.LookupOwner(root, spec)
	if err != nil {
		return o, err
	}
	a.mu.Lock()
	if a.owners == nil {
		a.owners = map[string]fscopy.Owner{}
	}
	a.owners[c.ID] = o
	a.mu.Unlock()
	return o, nil
}

// Restart restarts the service's containers (and dependents declared with
// depends_on.<svc>.restart: true, as restart does).
func (a *engineApplier) Restart(ctx context.Context, svc string) error {
	_, err := a.eng.Restart(ctx, a.p.Name, LifecycleRequest{Services: []string{svc}})
	return err
}

// Rebuild builds the service's image, then converges the service and its
// dependents: up recreates the service only when the image changed, and
// starts dependents that are not running. A failed build changes nothing.
func (a *engineApplier) Rebuild(ctx context.Context, svc string) (bool, error) {
	if _, err := a.eng.Build(ctx, a.p, BuildRequest{Services: []string{svc}, Options: a.build}); err != nil {
		return false, err
	}
	sub, err := a.p.WithSelectedServices([]string{svc}, types.IncludeDependents)
	if err != nil {
		return false, err
	}
	plan, err := a.eng.Up(ctx, sub, UpRequest{Build: BuildNever})
	if err != nil {
		return false, err
	}
	return plan != nil && plan.Recreates(svc), nil
}

// Exec runs a sync+exec command in every running replica, side by side.
func (a *engineApplier) Exec(ctx context.Context, svc string, x watch.Exec) error {
	cs, err := a.replicas(ctx, svc)
	if err != nil {
		return err
	}
	var (
		g    errgroup.Group
		mu   sync.Mutex
		errs []error
	)
	for _, c := range cs {
		g.Go(func() error {
			spec := ctrd.ExecSpec{Args: x.Command, Env: x.Env, User: x.User, Cwd: x.WorkingDir, Stdout: a.out, Stderr: a.errOut}
			code, err := a.eng.Runtime.Exec(ctx, c.ID, spec)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit code %d", code)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %q: %w", c.Name, x.Command, err))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// WatchUp builds the images of the watched services that have build: (their
// sources may have changed while nobody watched), then brings the project
// up detached.
func (e *Engine) WatchUp(ctx context.Context, p *types.Project, opts build.Options) error {
	var built []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build != nil && s.Develop != nil && len(s.Develop.Watch) > 0 {
			built = append(built, name)
		}
	}
	if len(built) > 0 {
		if _, err := e.Build(ctx, p, BuildRequest{Services: built, Options: opts}); err != nil {
			return err
		}
	}
	_, err := e.Up(ctx, p, UpRequest{})
	return err
}
