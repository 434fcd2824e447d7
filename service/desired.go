package service

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// DesiredState converts a loaded project into the planner's model. graph
// orders the services; imageIDs maps each service to the ID of the image it
// would run now ("" when unknown, which never triggers a recreate).
func DesiredState(p *types.Project, g *project.Graph, imageIDs map[string]string, scale map[string]int) (Desired, error) {
	d := Desired{Project: p.Name}
	d.AllServices = append(p.ServiceNames(), p.DisabledServiceNames()...)
	for _, name := range g.StartOrder() {
		s := p.Services[name]
		ds, err := desiredService(p, g, s, imageIDs[name])
		if err != nil {
			return Desired{}, err
		}
		if n, ok := scale[name]; ok {
			ds.Replicas = n
			ds.ContainerNames = containerNames(p.Name, s, n)
		}
		d.Services = append(d.Services, ds)
	}
	if err := portConflicts(d.Services); err != nil {
		return Desired{}, err
	}
	for _, key := range p.NetworkNames() {
		n := p.Networks[key]
		r := Resource{Name: n.Name, External: bool(n.External)}
		if !r.External {
			spec, warnings, err := translate.Network(p.Name, key, n)
			if err == nil {
				err = spec.Validate()
			}
			if err != nil {
				return Desired{}, err
			}
			d.Warnings = append(d.Warnings, warnings...)
			r.Network, r.Hash = &spec, project.NetworkHash(n)
		}
		d.Networks = append(d.Networks, r)
	}
	for _, key := range p.VolumeNames() {
		v := p.Volumes[key]
		if err := volumes.ValidateName(v.Name); err != nil {
			return Desired{}, fmt.Errorf("volume %q: %w", key, err)
		}
		r := Resource{Name: v.Name, External: bool(v.External)}
		if !r.External {
			spec, warnings, err := translate.VolumeSpec(p.Name, key, v)
			if err != nil {
				return Desired{}, err
			}
			d.Warnings = append(d.Warnings, warnings...)
			r.Volume, r.Hash = &spec, project.VolumeHash(v)
		}
		d.Volumes = append(d.Volumes, r)
	}
	return d, nil
}

func desiredService(p *types.Project, g *project.Graph, s types.ServiceConfig, imageID string) (DesiredService, error) {
	hash, err := project.ServiceHash(s)
	if err != nil {
		return DesiredService{}, err
	}
	replicas := project.Replicas(s)
	for _, n := range containerNames(p.Name, s, max(replicas, 1)) {
		if err := project.ValidateContainerName(n); err != nil {
			return DesiredService{}, fmt.Errorf("service %q: %w", s.Name, err)
		}
	}
	// everything a container's creation would refuse is refused now,
	// before the first network or volume exists
	if _, _, err := translate.Mounts(p, s, project.ContainerName(p.Name, s, 1)); err != nil {
		return DesiredService{}, err
	}
	if s.MemLimit < 0 || s.MemReservation < 0 || s.ShmSize < 0 {
		return DesiredService{}, fmt.Errorf("service %q: a memory size is out of range", s.Name)
	}
	ds := DesiredService{
		Name:           s.Name,
		Config:         s,
		Replicas:       replicas,
		ContainerNames: containerNames(p.Name, s, replicas),
		Hash:           hash,
		ImageID:        imageID,
		HasHealthcheck: s.HealthCheck != nil && !s.HealthCheck.Disable && len(s.HealthCheck.Test) > 0 && s.HealthCheck.Test[0] != "NONE",
	}
	for _, key := range s.NetworksByPriority() {
		ds.Networks = append(ds.Networks, p.Networks[key].Name)
	}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source != "" {
			if vol, ok := p.Volumes[v.Source]; ok {
				ds.Volumes = append(ds.Volumes, vol.Name)
			}
		}
	}
	ds.Deps = translate.Deps(g, s.Name)
	return ds, nil
}

func containerNames(projectName string, s types.ServiceConfig, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = project.ContainerName(projectName, s, i+1)
	}
	return names
}

// portConflicts finds, before anything is created, two containers that would publish
// the same host port: two services, or the replicas of one service with a single
// fixed port. Ports the host picks, and ranges, never conflict here.
func portConflicts(services []DesiredService) error {
	type owner struct {
		service string
		hostIP  string
	}
	taken := map[string][]owner{} // "8080/tcp" -> who publishes it
	for _, s := range services {
		if s.Replicas == 0 || s.Config.NetworkMode == "host" {
			continue
		}
		for _, port := range s.Config.Ports {
			if port.Published == "" || strings.Contains(port.Published, "-") {
				continue
			}
			pm, err := translate.PortMapping(port)
			if err != nil || pm.HostPort == 0 {
				continue // the translation reports a bad port with its service
			}
			key := fmt.Sprintf("%d/%s", pm.HostPort, pm.Protocol)
			if s.Replicas > 1 {
				return fmt.Errorf("service %q: ports: host port %s is published by each of its %d replicas, but only one container can have it: publish a range (e.g. \"%d-%d:%d\") or let the host pick the port", s.Name, key, s.Replicas, pm.HostPort, int(pm.HostPort)+s.Replicas-1, pm.ContainerPort)
			}
			for _, o := range taken[key] {
				if o.service != s.Name && (o.hostIP == "" || pm.HostIP == "" || o.hostIP == pm.HostIP) {
					return fmt.Errorf("services %q and %q both publish host port %s: only one of them can have it", o.service, s.Name, key)
				}
			}
			taken[key] = append(taken[key], owner{s.Name, pm.HostIP})
		}
	}
	return nil
}
