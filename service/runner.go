package service

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// upRunner carries out the operations of an up plan.
type upRunner struct {
	e        *Engine
	p        *types.Project
	g        *project.Graph
	images   map[string]ctrd.ImageInfo
	observed Observed
	timeout  *time.Duration
	oneoff   bool // containers are one-off `run` containers
	slots    slots
}

func (r *upRunner) Run(ctx context.Context, op *Op) error {
	switch {
	case op.Resource == ResNetwork:
		return r.slots.do(ctx, func() error { return r.createNetwork(ctx, op.Name) })
	case op.Resource == ResVolume:
		return r.slots.do(ctx, func() error { return r.createVolume(op.Name) })
	case op.Kind == OpCreate:
		return r.slots.do(ctx, func() error { return r.createContainer(ctx, op.Service, op.Number, op.Name) })
	case op.Kind == OpRecreate:
		old := r.observedContainer(op.Name)
		if err := r.e.stopForRemoval(ctx, old, r.timeout); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error {
			if err := r.e.deleteStopped(ctx, old, true); err != nil {
				return err
			}
			return r.createContainer(ctx, op.Service, op.Number, op.Name)
		})
	case op.Kind == OpStart:
		return r.slots.do(ctx, func() error { return r.e.startContainer(ctx, op.Name) })
	case op.Kind == OpRemove:
		old := r.observedContainer(op.Name)
		if err := r.e.stopForRemoval(ctx, old, r.timeout); err != nil {
			return err
		}
		return r.slots.do(ctx, func() error { return r.e.deleteStopped(ctx, old, false) })
	case op.Kind == OpWaitHealthy, op.Kind == OpWaitCompleted, op.Kind == OpWaitRunning:
		return r.e.waitService(ctx, r.p.Name, op.Service, op.Kind)
	}
	return fmt.Errorf("unknown operation %s", op)
}

func (r *upRunner) observedContainer(name string) Container {
	for _, c := range r.observed.Containers {
		if c.Name == name {
			return c
		}
	}
	return Container{ID: name, Name: name}
}

// createNetwork creates a project network from its compose definition.
func (r *upRunner) createNetwork(ctx context.Context, name string) error {
	for key, n := range r.p.Networks {
		if n.Name != name {
			continue
		}
		spec, warnings, err := networkSpec(r.p.Name, key, n)
		for _, w := range warnings {
			r.e.warn(w)
		}
		if err != nil {
			return err
		}
		if _, err = r.e.Networks.Ensure(ctx, spec); err != nil {
			return err
		}
		return r.e.ensureHelper(ctx, name)
	}
	return fmt.Errorf("create network %q: not in the project", name)
}

// networkSpec converts a compose network to the network package's spec.
func networkSpec(projectName, key string, n types.NetworkConfig) (network.Spec, []string, error) {
	spec := network.Spec{
		Name:     n.Name,
		Internal: n.Internal,
		Labels: map[string]string{
			project.LabelProject: projectName,
			project.LabelNetwork: key,
			project.LabelVersion: "berth",
		},
	}
	for k, v := range n.Labels {
		spec.Labels[k] = v
	}
	if n.EnableIPv6 != nil {
		spec.EnableIPv6 = *n.EnableIPv6
	}
	var warnings []string
	if n.Driver != "" && n.Driver != "bridge" {
		return spec, nil, fmt.Errorf("network %q: driver %q is not supported: berth networks are bridges", key, n.Driver)
	}
	for opt, v := range n.DriverOpts {
		switch opt {
		case "com.docker.network.driver.mtu":
			mtu, err := strconv.Atoi(v)
			if err != nil {
				return spec, nil, fmt.Errorf("network %q: driver_opts %s: %q is not a number", key, opt, v)
			}
			spec.MTU = mtu
		case "com.docker.network.bridge.name":
			spec.BridgeName = v
		default:
			warnings = append(warnings, fmt.Sprintf("network %q: driver_opts %s is not supported and is ignored", key, opt))
		}
	}
	for _, c := range n.Ipam.Config {
		sn, err := subnetOf(key, c)
		if err != nil {
			return spec, nil, err
		}
		spec.Subnets = append(spec.Subnets, sn)
	}
	return spec, warnings, nil
}

func subnetOf(key string, c *types.IPAMPool) (network.Subnet, error) {
	var sn network.Subnet
	var err error
	if sn.Subnet, err = netip.ParsePrefix(c.Subnet); err != nil {
		return sn, fmt.Errorf("network %q: ipam subnet %q: %w", key, c.Subnet, err)
	}
	if c.Gateway != "" {
		if sn.Gateway, err = netip.ParseAddr(c.Gateway); err != nil {
			return sn, fmt.Errorf("network %q: ipam gateway %q: %w", key, c.Gateway, err)
		}
	}
	if c.IPRange != "" {
		if sn.IPRange, err = netip.ParsePrefix(c.IPRange); err != nil {
			return sn, fmt.Errorf("network %q: ipam ip_range %q: %w", key, c.IPRange, err)
		}
	}
	return sn, nil
}

// createVolume creates a project's named volume.
func (r *upRunner) createVolume(name string) error {
	for key, v := range r.p.Volumes {
		if v.Name != name {
			continue
		}
		spec := volumes.Spec{Name: name, Labels: map[string]string{
			project.LabelProject: r.p.Name,
			project.LabelVolume:  key,
			project.LabelVersion: "berth",
		}}
		for k, val := range v.Labels {
			spec.Labels[k] = val
		}
		if v.Driver != "" && v.Driver != "local" {
			return fmt.Errorf("volume %q: driver %q is not supported: berth volumes are local", key, v.Driver)
		}
		if v.DriverOpts["o"] == "bind" && v.DriverOpts["device"] != "" {
			spec.Device = v.DriverOpts["device"]
		} else if len(v.DriverOpts) > 0 {
			r.e.warn(fmt.Sprintf("volume %q: driver_opts other than o=bind,device=PATH are not supported and are ignored", key))
		}
		_, _, err := r.e.Volumes.Create(spec)
		return err
	}
	return fmt.Errorf("create volume %q: not in the project", name)
}

// waitService waits until every replica of a service meets the condition.
func (e *Engine) waitService(ctx context.Context, projectName, service string, kind OpKind) error {
	infos, err := e.Runtime.ListContainers(ctx, map[string]string{project.LabelProject: projectName, project.LabelService: service})
	if err != nil {
		return err
	}
	errs := make(chan error, len(infos))
	n := 0
	for _, info := range infos {
		c := fromInfo(info)
		if c.Oneoff {
			continue
		}
		n++
		go func() { errs <- e.waitContainer(ctx, service, c, kind) }()
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

func (e *Engine) waitContainer(ctx context.Context, service string, c Container, kind OpKind) error {
	switch kind {
	case OpWaitCompleted:
		code := c.ExitCode
		if c.State != StateExited {
			var err error
			if code, err = e.Runtime.Wait(ctx, c.ID); err != nil {
				return err
			}
		}
		if code != 0 {
			return fmt.Errorf("service %q didn't complete successfully: exit %d", service, code)
		}
		return nil
	case OpWaitHealthy:
		hc := healthCheckFromLabel(c.Labels[LabelHealthcheck])
		if hc == nil {
			return fmt.Errorf("service %q has no health check: it cannot become healthy (use condition: service_started)", service)
		}
		started := c.StartedAt
		if started.IsZero() {
			started = time.Now()
		}
		if err := e.waitHealthy(ctx, c.ID, *hc, started); err != nil {
			return fmt.Errorf("dependency failed to start: service %q: %w", service, err)
		}
		return nil
	}
	if !c.Running() {
		return fmt.Errorf("service %q: container %s is %s", service, c.Name, c.State)
	}
	return nil
}
