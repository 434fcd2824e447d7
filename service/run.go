package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/plan"
)

// RunRequest is `run` with its flags.
type RunRequest struct {
	Service    string
	Command    []string // empty keeps the service's
	Entrypoint []string // nil keeps the service's
	Env        []string
	User       string
	WorkDir    string
	Volumes    []string // extra volumes, compose short syntax
	Ports      []string // extra published ports, compose short syntax
	Labels     map[string]string
	Name       string
	// ServicePorts publishes the service's ports (run does not by default).
	ServicePorts bool
	NoDeps       bool
	Remove       bool
	Detach       bool
	Streams      ctrd.Streams
}

// RunRuntime is what run needs beyond Runtime: a foreground process.
type RunRuntime interface {
	RunTask(ctx context.Context, id string, s ctrd.Streams) (int, error)
}

// Run starts the service's dependencies, then a one-off container of the
// service, and returns its exit code (or 0 with Detach). With Remove the
// container and everything made for it go when it ends, Ctrl-C included.
func (e *Engine) Run(ctx context.Context, p *types.Project, req RunRequest) (int, error) {
	s, err := p.GetService(req.Service)
	if err != nil {
		return -1, fmt.Errorf("no such service: %s", req.Service)
	}
	if err := e.startDeps(ctx, p, req); err != nil {
		return -1, err
	}
	oneoff, err := oneoffService(s, p.WorkingDir, req)
	if err != nil {
		return -1, err
	}
	name := req.Name
	if name == "" {
		name = NewOneoffName(p.Name, s.Name)
	}
	if err := e.createOneoff(ctx, p, oneoff, name); err != nil {
		return -1, err
	}
	c := Container{ID: name, Labels: map[string]string{}}
	c.Name = name
	if req.Detach {
		return 0, e.startContainer(ctx, name)
	}
	code, runErr := e.Runtime.(RunRuntime).RunTask(ctx, name, req.Streams)
	if req.Remove {
		if err := e.removeContainer(context.WithoutCancel(ctx), c, nil, false); err != nil && runErr == nil {
			runErr = err
		}
	}
	return code, runErr
}

// startDeps brings the service's dependencies up, as `up -d` would.
func (e *Engine) startDeps(ctx context.Context, p *types.Project, req RunRequest) error {
	if req.NoDeps {
		return nil
	}
	g, err := project.NewGraph(p)
	if err != nil {
		return err
	}
	deps := slices.DeleteFunc(g.WithDependencies([]string{req.Service}), func(n string) bool { return n == req.Service })
	if len(deps) == 0 {
		return nil
	}
	depProject, err := p.WithSelectedServices(deps)
	if err != nil {
		return err
	}
	_, err = e.Up(ctx, depProject, UpRequest{})
	return err
}

// oneoffService applies run's overrides to a copy of the service.
func oneoffService(s types.ServiceConfig, workingDir string, req RunRequest) (types.ServiceConfig, error) {
	if len(req.Command) > 0 {
		s.Command = req.Command
	}
	if req.Entrypoint != nil {
		s.Entrypoint = req.Entrypoint
	}
	s.Environment = maps.Clone(s.Environment)
	if s.Environment == nil {
		s.Environment = types.MappingWithEquals{}
	}
	s.Environment.OverrideBy(types.NewMappingWithEquals(req.Env))
	if req.User != "" {
		s.User = req.User
	}
	if req.WorkDir != "" {
		s.WorkingDir = req.WorkDir
	}
	if !req.ServicePorts {
		s.Ports = nil
	}
	for _, spec := range req.Ports {
		ports, err := types.ParsePortConfig(spec)
		if err != nil {
			return s, fmt.Errorf("run: -p %s: %w", spec, err)
		}
		s.Ports = append(s.Ports, ports...)
	}
	for _, spec := range req.Volumes {
		v, err := project.ParseVolume(workingDir, spec)
		if err != nil {
			return s, fmt.Errorf("run: -v %s: %w", spec, err)
		}
		s.Volumes = append(s.Volumes, v)
	}
	s.Labels = maps.Clone(s.Labels)
	if s.Labels == nil {
		s.Labels = types.Labels{}
	}
	maps.Copy(s.Labels, req.Labels)
	s.Tty = req.Streams.Tty
	s.StdinOpen = req.Streams.Stdin != nil
	// a one-off container never restarts by itself
	s.Restart = ""
	s.ContainerName = ""
	return s, nil
}

// createOneoff creates the one-off container through a plan, under the project's
// lock as up: the networks and named volumes it uses are created when missing (run
// works on a project that is not up, as Compose's does) or recreated when changed.
func (e *Engine) createOneoff(ctx context.Context, p *types.Project, s types.ServiceConfig, name string) error {
	unlock, err := e.lock(ctx, p.Name)
	if err != nil {
		return err
	}
	defer unlock()
	one := *p
	one.Services = maps.Clone(p.Services)
	one.Services[s.Name] = s
	g, err := project.NewGraph(&one)
	if err != nil {
		return err
	}
	single := &types.Project{Name: p.Name, WorkingDir: p.WorkingDir, Services: types.Services{s.Name: s}, Secrets: p.Secrets}
	lookup := e.newImageCache()
	if _, err := e.buildForUp(ctx, lookup, single, UpRequest{}); err != nil {
		return err
	}
	images, err := e.ensureImages(ctx, lookup, single, "", false)
	if err != nil {
		return err
	}
	observed, err := e.observe(ctx, p.Name)
	if err != nil {
		return err
	}
	desired, err := DesiredState(&one, g, nil, nil)
	if err != nil {
		return err
	}
	pl, err := plan.PlanRun(desired, observed, s, name)
	if err != nil {
		return err
	}
	for _, w := range pl.Warnings {
		e.warn(w)
	}
	r := e.newUpRunner(&one, g, images, observed, pl)
	r.oneoff = true
	return r.execute(ctx, pl, nil)
}

// NewOneoffName names a one-off container: <project>-<service>-run-<id>.
func NewOneoffName(projectName, service string) string {
	return project.OneoffName(projectName, service, randomID())
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
