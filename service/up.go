package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/plan"
)

// UpRequest is `up` with its flags.
type UpRequest struct {
	UpOptions
	// Scale overrides replicas per service (--scale).
	Scale map[string]int
	// Pull is --pull: "" follows each service's pull_policy; always,
	// missing or never override it.
	Pull string
	// Timeout overrides stop_grace_period for containers up recreates.
	Timeout *time.Duration
	// DryRun plans and returns without changing anything.
	DryRun bool
	// Build is --build / --no-build; BuildOptions apply to what up builds.
	Build        BuildPolicy
	BuildOptions build.Options
}

// Up converges the project's containers, networks and volumes to the model
// and returns the plan it carried out.
func (e *Engine) Up(ctx context.Context, p *types.Project, req UpRequest) (*Plan, error) {
	if err := project.ValidateName(p.Name); err != nil {
		return nil, err
	}
	g, err := project.NewGraph(p)
	if err != nil {
		return nil, err
	}
	unlock, err := e.lock(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lookup := e.newImageCache()
	builds, err := e.buildForUp(ctx, lookup, p, req)
	if err != nil {
		return nil, err
	}
	images, err := e.ensureImages(ctx, lookup, p, req.Pull, req.DryRun)
	if err != nil {
		return nil, err
	}
	observed, err := e.observe(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for name, info := range images {
		ids[name] = info.ID
	}
	desired, err := DesiredState(p, g, ids, req.Scale)
	if err != nil {
		return nil, err
	}
	pl, err := plan.PlanUp(desired, observed, req.UpOptions)
	if err != nil {
		return nil, err
	}
	pl.Builds = builds
	for _, w := range pl.Warnings {
		e.warn(w)
	}
	if req.DryRun {
		return pl, nil
	}
	if err := e.preflight(pl); err != nil {
		return nil, err
	}
	// the helper serves DNS for existing networks too: restart it if it died
	if err := e.ensureHelper(ctx, existingNetworks(desired, observed)...); err != nil {
		return nil, err
	}
	r := e.newUpRunner(p, g, images, observed, pl)
	r.timeout, r.renewAnon = req.Timeout, req.RenewAnonVolumes
	return pl, r.execute(ctx, pl, e.Progress)
}

// buildForUp builds what up needs built before it reads image configs, so that a
// rebuilt image's new digest recreates its service's containers.
// It returns the services it built, or in a dry run would build.
func (e *Engine) buildForUp(ctx context.Context, lookup *imageCache, p *types.Project, req UpRequest) ([]string, error) {
	names, err := e.toBuild(ctx, lookup, p, req.Build)
	if err != nil || len(names) == 0 || req.DryRun {
		return names, err
	}
	_, err = e.buildServices(ctx, p, names, req.BuildOptions)
	lookup.reset()
	return names, err
}

// ensureImages makes sure every selected service's image is present,
// pulling per pull_policy (or --pull), and returns their configs.
func (e *Engine) ensureImages(ctx context.Context, lookup *imageCache, p *types.Project, pull string, dryRun bool) (map[string]ctrd.ImageInfo, error) {
	var toPull []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		policy := s.PullPolicy
		if pull != "" {
			policy = pull
		}
		ref := project.ImageName(p.Name, s)
		need, err := e.needsPull(ctx, lookup, s, ref, policy)
		if err != nil {
			return nil, err
		}
		if need && !slices.Contains(toPull, ref) {
			toPull = append(toPull, ref)
		}
	}
	if len(toPull) > 0 && !dryRun {
		if err := e.Runtime.PullAll(ctx, toPull, e.Progress); err != nil {
			return nil, err
		}
		lookup.reset()
	}
	return e.imageConfigs(ctx, lookup, p)
}

// needsPull applies one service's pull policy.
func (e *Engine) needsPull(ctx context.Context, lookup *imageCache, s types.ServiceConfig, ref, policy string) (bool, error) {
	if s.Build != nil {
		return false, nil // built, never pulled, by up
	}
	_, err := lookup.get(ctx, ref)
	missing := errors.Is(err, ctrd.ErrImageNotFound)
	if err != nil && !missing {
		return false, err
	}
	switch policy {
	case types.PullPolicyAlways:
		return true, nil
	case types.PullPolicyNever:
		if missing {
			return false, fmt.Errorf("service %q: image %s is not present and pull_policy is never", s.Name, ref)
		}
		return false, nil
	case types.PullPolicyBuild:
		return false, fmt.Errorf("service %q: pull_policy build needs a build: section", s.Name)
	}
	if missing && s.Image == "" {
		return false, fmt.Errorf("service %q has no image and no build section", s.Name)
	}
	return missing, nil
}

// imageConfigs reads every selected service's image config in parallel.
func (e *Engine) imageConfigs(ctx context.Context, lookup *imageCache, p *types.Project) (map[string]ctrd.ImageInfo, error) {
	var mu sync.Mutex
	out := map[string]ctrd.ImageInfo{}
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(8)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		eg.Go(func() error {
			info, err := lookup.get(ctx, project.ImageName(p.Name, s))
			if errors.Is(err, ctrd.ErrImageNotFound) {
				return nil // dry run of an image still to pull
			}
			if err != nil {
				return fmt.Errorf("service %q: %w", name, err)
			}
			mu.Lock()
			out[name] = info
			mu.Unlock()
			return nil
		})
	}
	return out, eg.Wait()
}

func existingNetworks(d Desired, o Observed) []string {
	var out []string
	for _, n := range d.Networks {
		if o.Networks[n.Name] {
			out = append(out, n.Name)
		}
	}
	return out
}

func (e *Engine) ensureHelper(ctx context.Context, networks ...string) error {
	if e.Helper == nil || len(networks) == 0 {
		return nil
	}
	if err := e.Helper.Ensure(ctx, networks...); err != nil {
		return fmt.Errorf("start berth's helper (DNS): %w", err)
	}
	return nil
}
