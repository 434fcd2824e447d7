package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
)

// Builder builds images; *build.Builder implements it on BuildKit and tests swap in
// fakes.
type Builder interface {
	Build(ctx context.Context, specs []build.Spec, o build.Options) (map[string]build.Result, error)
}

// BuildRequest is `build` with its flags.
type BuildRequest struct {
	// Services to build; empty builds every selected service that has build:.
	Services []string
	build.Options
}

// BuildPolicy is up's --build / --no-build.
type BuildPolicy int

const (
	// BuildMissing builds a service's image when it is not present (or its
	// pull_policy says build), like Compose's default.
	BuildMissing BuildPolicy = iota
	// BuildAlways is --build.
	BuildAlways
	// BuildNever is --no-build: a missing image is an error.
	BuildNever
)

// Build builds the images of the selected services that have build: and returns
// their image digests by service.
func (e *Engine) Build(ctx context.Context, p *types.Project, req BuildRequest) (map[string]build.Result, error) {
	names := req.Services
	if len(names) == 0 {
		for _, name := range p.ServiceNames() {
			if p.Services[name].Build != nil {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		s, ok := p.Services[name]
		if !ok {
			return nil, fmt.Errorf("no such service: %s", name)
		}
		if s.Build == nil {
			e.warn(fmt.Sprintf("service %q has no build: section, nothing to build", name))
		}
	}
	return e.buildServices(ctx, p, names, req.Options)
}

// buildServices builds those of names that have build:, one build per image name.
func (e *Engine) buildServices(ctx context.Context, p *types.Project, names []string, o build.Options) (map[string]build.Result, error) {
	var specs []build.Spec
	seen := map[string]bool{}
	for _, name := range names {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		spec, err := BuildSpec(p, s)
		if err != nil {
			return nil, err
		}
		if seen[spec.Tags[0]] {
			continue // services sharing an image build it once
		}
		seen[spec.Tags[0]] = true
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return map[string]build.Result{}, nil
	}
	if e.Builder == nil {
		return nil, errors.New("building images is not configured")
	}
	return e.Builder.Build(ctx, specs, o)
}

// toBuild picks the services whose images up builds: with build: and --build, or
// pull_policy build or always, or the image missing. A missing image of a service
// without build: is the pull step's business.
func (e *Engine) toBuild(ctx context.Context, lookup *imageCache, p *types.Project, policy BuildPolicy) ([]string, error) {
	var out []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		_, err := lookup.get(ctx, project.ImageName(p.Name, s))
		missing := errors.Is(err, ctrd.ErrImageNotFound)
		if err != nil && !missing {
			return nil, fmt.Errorf("service %q: %w", name, err)
		}
		switch {
		case policy == BuildNever:
			if missing {
				return nil, fmt.Errorf("service %q: image %s is not present and --no-build was given: run 'berth build %s'", name, project.ImageName(p.Name, s), name)
			}
		case policy == BuildAlways, missing,
			s.PullPolicy == types.PullPolicyBuild, s.PullPolicy == types.PullPolicyAlways:
			out = append(out, name)
		}
	}
	return out, nil
}

// BuildSpec turns a service's build: section into what BuildKit builds. The image
// is named as Docker Compose names it: image: when set, else <project>-<service>.
func BuildSpec(p *types.Project, s types.ServiceConfig) (build.Spec, error) {
	b := s.Build
	spec := build.Spec{
		Name:             s.Name,
		Context:          b.Context,
		DockerfileInline: b.DockerfileInline,
		Target:           b.Target,
		Network:          b.Network,
		ShmSize:          int64(b.ShmSize),
		Platforms:        b.Platforms,
		CacheFrom:        b.CacheFrom,
		CacheTo:          b.CacheTo,
		NoCache:          b.NoCache,
		Pull:             b.Pull || s.PullPolicy == types.PullPolicyAlways,
		Labels:           maps.Clone(b.Labels),
	}
	if spec.Context == "" {
		spec.Context = p.WorkingDir
	}
	if len(spec.Platforms) == 0 && s.Platform != "" {
		spec.Platforms = []string{s.Platform}
	}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(spec.Context, dockerfile)
	}
	spec.Dockerfile = dockerfile
	for _, ref := range append([]string{project.ImageName(p.Name, s)}, b.Tags...) {
		norm, err := ctrd.NormalizeRef(ref)
		if err != nil {
			return build.Spec{}, fmt.Errorf("service %q: build.tags: %w", s.Name, err)
		}
		if !slices.Contains(spec.Tags, norm) {
			spec.Tags = append(spec.Tags, norm)
		}
	}
	if len(b.Args) > 0 {
		spec.Args = map[string]string{}
		for k, v := range b.Args {
			if v != nil {
				spec.Args[k] = *v
			}
		}
	}
	if len(b.AdditionalContexts) > 0 {
		spec.AdditionalContexts = map[string]string{}
		for k, v := range b.AdditionalContexts {
			spec.AdditionalContexts[k] = v
		}
	}
	if len(b.ExtraHosts) > 0 {
		// sorted: BuildKit puts the hosts in every RUN step's cache key
		spec.ExtraHosts = b.ExtraHosts.AsList("=")
		slices.Sort(spec.ExtraHosts)
	}
	for _, sec := range b.Secrets {
		def, ok := p.Secrets[sec.Source]
		if !ok {
			return build.Spec{}, fmt.Errorf("service %q: build.secrets: undefined secret %q", s.Name, sec.Source)
		}
		id := sec.Source
		if sec.Target != "" {
			id = sec.Target
		}
		if def.External {
			return build.Spec{}, fmt.Errorf("service %q: build.secrets: secret %q is external, which a build cannot read", s.Name, sec.Source)
		}
		spec.Secrets = append(spec.Secrets, build.Secret{ID: id, File: def.File, Env: def.Environment})
	}
	for _, key := range b.SSH {
		k := build.SSH{ID: key.ID}
		if key.Path != "" {
			k.Paths = []string{key.Path}
		}
		spec.SSH = append(spec.SSH, k)
	}
	for _, unsupported := range []struct {
		set   bool
		field string
	}{
		{len(b.Entitlements) > 0, "entitlements"},
		{b.Privileged, "privileged"},
		{b.Isolation != "" && b.Isolation != "default", "isolation"},
	} {
		if unsupported.set {
			return build.Spec{}, fmt.Errorf("service %q: build.%s is not supported", s.Name, unsupported.field)
		}
	}
	return spec, nil
}
