package service

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
)

// imageCache remembers, for one command, what the image store answered for each
// reference: deciding what to build, what to pull and reading the configs then ask
// containerd once per image on a no-op up, not three times. Building or pulling
// changes the answers: reset then.
type imageCache struct {
	rt   Runtime
	mu   sync.Mutex
	seen map[string]imageAnswer
}

type imageAnswer struct {
	info ctrd.ImageInfo
	err  error
}

func (e *Engine) newImageCache() *imageCache {
	return &imageCache{rt: e.Runtime, seen: map[string]imageAnswer{}}
}

// get is Runtime.ImageConfig, asked once per reference.
func (c *imageCache) get(ctx context.Context, ref string) (ctrd.ImageInfo, error) {
	c.mu.Lock()
	a, ok := c.seen[ref]
	c.mu.Unlock()
	if ok {
		return a.info, a.err
	}
	info, err := c.rt.ImageConfig(ctx, ref)
	if err == nil || errors.Is(err, ctrd.ErrImageNotFound) {
		c.mu.Lock()
		c.seen[ref] = imageAnswer{info, err}
		c.mu.Unlock()
	}
	return info, err
}

// reset forgets every answer, after a build or a pull.
func (c *imageCache) reset() {
	c.mu.Lock()
	c.seen = map[string]imageAnswer{}
	c.mu.Unlock()
}

// imageRuntime is what the image commands need beyond Runtime.
type imageRuntime interface {
	ImageInfo(ctx context.Context, ref string) (ctrd.ImageInfo, error)
	Load(ctx context.Context, r io.Reader, sink progress.Sink) ([]string, error)
}

func (e *Engine) images() (imageRuntime, error) {
	rt, ok := e.Runtime.(imageRuntime)
	if !ok {
		return nil, errors.New("the container runtime cannot read or load images")
	}
	return rt, nil
}

// ServiceImage is a service's image as `images` lists it: once per container of
// the service, or once without a container before up.
type ServiceImage struct {
	Service   string
	Container string
	Image     ctrd.ImageInfo
}

// ServiceImages lists the images of the project's services that are present.
func (e *Engine) ServiceImages(ctx context.Context, p *types.Project) ([]ServiceImage, error) {
	rt, err := e.images()
	if err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	var out []ServiceImage
	for _, name := range p.ServiceNames() {
		info, err := rt.ImageInfo(ctx, project.ImageName(p.Name, p.Services[name]))
		if ctrd.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		added := false
		for _, c := range cs {
			if c.Service == name && !c.Oneoff {
				out = append(out, ServiceImage{Service: name, Container: c.Name, Image: info})
				added = true
			}
		}
		if !added {
			out = append(out, ServiceImage{Service: name, Image: info})
		}
	}
	return out, nil
}

// LoadImages imports images from a docker save or OCI layout archive.
func (e *Engine) LoadImages(ctx context.Context, r io.Reader) ([]string, error) {
	rt, err := e.images()
	if err != nil {
		return nil, err
	}
	return rt.Load(ctx, r, nil)
}

// PullRequest is pull with its flags.
type PullRequest struct {
	// IgnoreBuildable skips the images of services that have build:.
	IgnoreBuildable bool
	// Missing pulls only the images that are not present (--policy missing).
	Missing bool
	Sink    progress.Sink
}

// Pull pulls the services' images. Images a build: can make are pulled apart,
// after the others: their failure is returned as buildErr with the services to
// build, a hint rather than an error, as Docker Compose does.
func (e *Engine) Pull(ctx context.Context, p *types.Project, req PullRequest) (buildServices []string, buildErr, err error) {
	var refs, buildable []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Image == "" || s.PullPolicy == types.PullPolicyBuild {
			continue
		}
		if s.Build != nil {
			if !req.IgnoreBuildable && !slices.Contains(buildable, s.Image) {
				buildable = append(buildable, s.Image)
				buildServices = append(buildServices, name)
			}
			continue
		}
		if !slices.Contains(refs, s.Image) {
			refs = append(refs, s.Image)
		}
	}
	if req.Missing {
		if refs, err = e.missingImages(ctx, refs); err != nil {
			return nil, nil, err
		}
		if buildable, err = e.missingImages(ctx, buildable); err != nil {
			return nil, nil, err
		}
	}
	err = e.Runtime.PullAll(ctx, refs, req.Sink)
	if len(buildable) > 0 && ctx.Err() == nil {
		buildErr = e.Runtime.PullAll(ctx, buildable, req.Sink)
	}
	return buildServices, buildErr, err
}

// pushRuntime is what push needs beyond Runtime.
type pushRuntime interface {
	PushAll(ctx context.Context, refs []string, sink progress.Sink) error
	Tag(ctx context.Context, src, dst string) error
}

// PushRequest is push with its flags.
type PushRequest struct {
	// Registry, when set, pushes every built image under HOST/PATH, as
	// `berth kube convert --registry` names them in the manifests.
	Registry string
	Sink     progress.Sink
}

// Push pushes the services' images: those with both build: and image:, as Docker
// Compose does, or with a registry every built image under it. It returns the
// services it skipped.
func (e *Engine) Push(ctx context.Context, p *types.Project, req PushRequest) (skipped []string, err error) {
	rt, ok := e.Runtime.(pushRuntime)
	if !ok {
		return nil, errors.New("the container runtime cannot push images")
	}
	if req.Registry == "" {
		refs, skipped := project.PushImages(p)
		return skipped, rt.PushAll(ctx, refs, req.Sink)
	}
	pushes, skipped := project.RegistryPushes(p, req.Registry)
	refs := make([]string, 0, len(pushes))
	for _, push := range pushes {
		if err := rt.Tag(ctx, push.Source, push.Target); err != nil {
			return skipped, err
		}
		refs = append(refs, push.Target)
	}
	return skipped, rt.PushAll(ctx, refs, req.Sink)
}

// missingImages keeps the references that are not in the image store.
func (e *Engine) missingImages(ctx context.Context, refs []string) ([]string, error) {
	var out []string
	for _, ref := range refs {
		_, err := e.Runtime.ImageConfig(ctx, ref)
		switch {
		case ctrd.IsNotFound(err) || errors.Is(err, ctrd.ErrImageNotFound):
			out = append(out, ref)
		case err != nil:
			return nil, err
		}
	}
	return out, nil
}
