package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/treetar"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/service/plan"
	"github.com/berth-dev/berth/volumes"
)

// ProjectNetworks lists the networks berth made for the project.
func (e *Engine) ProjectNetworks(projectName string) ([]network.Network, error) {
	all, err := e.Networks.List()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(n network.Network) bool { return n.Labels[record.LabelProject] != projectName }), nil
}

// RemoveNetworks removes project networks by name, under the project's lock: an up
// or down running meanwhile sees them either there or gone.
func (e *Engine) RemoveNetworks(ctx context.Context, projectName string, names []string, removed func(string)) error {
	unlock, err := e.lock(ctx, projectName)
	if err != nil {
		return err
	}
	defer unlock()
	nets, err := e.ProjectNetworks(projectName)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !slices.ContainsFunc(nets, func(n network.Network) bool { return n.Name == name }) {
			return fmt.Errorf("network %q is not a network of project %q", name, projectName)
		}
		err := e.Networks.Remove(ctx, name)
		if errors.Is(err, network.ErrInUse) {
			return fmt.Errorf("network %q has containers attached: stop them first (berth down, or berth rm -s)", name)
		}
		if err != nil {
			return err
		}
		removed(name)
	}
	return nil
}

// ProjectVolumes lists the volumes berth made for the project, anonymous ones included.
func (e *Engine) ProjectVolumes(projectName string) ([]volumes.Volume, error) {
	all, err := e.Volumes.List()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(v volumes.Volume) bool { return v.Labels[record.LabelProject] != projectName }), nil
}

// RemoveVolumes removes project volumes that no container of the project mounts,
// under the project's lock.
func (e *Engine) RemoveVolumes(ctx context.Context, projectName string, names []string, removed func(string)) error {
	unlock, err := e.lock(ctx, projectName)
	if err != nil {
		return err
	}
	defer unlock()
	vols, err := e.ProjectVolumes(projectName)
	if err != nil {
		return err
	}
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return err
	}
	for _, name := range names {
		i := slices.IndexFunc(vols, func(v volumes.Volume) bool { return v.Name == name })
		if i < 0 {
			return fmt.Errorf("volume %q is not a volume of project %q", name, projectName)
		}
		if user, err := e.mountedBy(ctx, cs, vols[i].Mountpoint); err != nil {
			return err
		} else if user != "" {
			return fmt.Errorf("volume %q is in use by container %s: remove the container first (berth down, or berth rm)", name, user)
		}
		if err := e.Volumes.Remove(name); err != nil {
			return err
		}
		removed(name)
	}
	return nil
}

func (e *Engine) mountedBy(ctx context.Context, cs []Container, mountpoint string) (string, error) {
	for _, c := range cs {
		mounts, err := e.Runtime.Mounts(ctx, c.ID)
		if err != nil {
			return "", err
		}
		for _, m := range mounts {
			if m.Source == mountpoint {
				return c.Name, nil
			}
		}
	}
	return "", nil
}

// ProjectSummary is one project as ls shows it.
type ProjectSummary struct {
	Name        string
	States      map[string]int // containers by state
	ConfigFiles []string
}

// Projects lists every project that has containers in the namespace, by name.
func (e *Engine) Projects(ctx context.Context) ([]ProjectSummary, error) {
	infos, err := e.Runtime.ListContainers(ctx, nil)
	if err != nil {
		return nil, err
	}
	byName := map[string]*ProjectSummary{}
	for _, info := range infos {
		c := e.fromInfo(info)
		if c.Project == "" {
			continue
		}
		p := byName[c.Project]
		if p == nil {
			p = &ProjectSummary{Name: c.Project, States: map[string]int{}}
			byName[c.Project] = p
		}
		p.States[c.State]++
		p.ConfigFiles = c.ConfigFiles
	}
	out := make([]ProjectSummary, 0, len(byName))
	for _, p := range byName {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ServiceContainer finds a service's replica by its index, 0 meaning the lowest
// numbered one (one-offs excluded). The error says whether the service exists at
// all, and which ones do.
func (e *Engine) ServiceContainer(ctx context.Context, projectName, service string, index int) (Container, error) {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return Container{}, err
	}
	slices.SortStableFunc(cs, func(a, b Container) int { return a.Number - b.Number })
	var services []string
	for _, c := range cs {
		if c.Oneoff {
			continue
		}
		if c.Service == service && (c.Number == index || index == 0) {
			return c, nil
		}
		if !slices.Contains(services, c.Service) {
			services = append(services, c.Service)
		}
	}
	if slices.Contains(services, service) {
		return Container{}, fmt.Errorf("service %q has no container with index %d", service, index)
	}
	if len(services) == 0 {
		return Container{}, fmt.Errorf("no such service: %s: project %q has no containers: is it up?", service, projectName)
	}
	sort.Strings(services)
	return Container{}, fmt.Errorf("no such service: %s (the project's services: %s)", service, plan.JoinNames(services))
}

// RunningServiceContainer is ServiceContainer for what needs the replica's process:
// exec, attach.
func (e *Engine) RunningServiceContainer(ctx context.Context, projectName, service string, index int) (Container, error) {
	c, err := e.ServiceContainer(ctx, projectName, service, index)
	if err == nil && c.State != StateRunning {
		err = fmt.Errorf("service %q is not running (container %s)", service, c.Name)
	}
	return c, err
}

// Exec runs a process in a running replica of a service and returns its exit code.
func (e *Engine) Exec(ctx context.Context, projectName, service string, index int, spec ctrd.ExecSpec) (int, error) {
	c, err := e.RunningServiceContainer(ctx, projectName, service, index)
	if err != nil {
		return -1, err
	}
	return e.Runtime.Exec(ctx, c.ID, spec)
}

// WaitContainer waits for a container's process to exit and returns its code.
func (e *Engine) WaitContainer(ctx context.Context, c Container) (int, error) {
	return e.Runtime.Wait(ctx, c.ID)
}

// Signal sends a signal to a container's main process.
func (e *Engine) Signal(ctx context.Context, c Container, signal string) error {
	rt, err := e.lifecycle()
	if err != nil {
		return err
	}
	return rt.Kill(ctx, c.ID, signal)
}

// Export writes the container's root file system as a tar archive.
func (e *Engine) Export(ctx context.Context, c Container, w io.Writer) error {
	return e.Runtime.WithRootfs(ctx, c.ID, func(root string) error {
		return treetar.Write(w, root, treetar.Options{})
	})
}

// VolumesOfServices keeps the volumes the services' containers mount.
func (e *Engine) VolumesOfServices(ctx context.Context, projectName string, vols []volumes.Volume, services []string) ([]volumes.Volume, error) {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range cs {
		if !slices.Contains(services, c.Service) {
			continue
		}
		mounts, err := e.Runtime.Mounts(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range mounts {
			used[m.Source] = true
		}
	}
	return slices.DeleteFunc(vols, func(v volumes.Volume) bool { return !used[v.Mountpoint] }), nil
}
