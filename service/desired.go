package service

import (
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"

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
	for _, key := range p.NetworkNames() {
		n := p.Networks[key]
		spec, _, err := networkSpec(p.Name, key, n)
		if err == nil {
			err = spec.Validate()
		}
		if err != nil {
			return Desired{}, err
		}
		d.Networks = append(d.Networks, Resource{Name: n.Name, External: bool(n.External)})
	}
	for _, key := range p.VolumeNames() {
		v := p.Volumes[key]
		if err := volumes.ValidateName(v.Name); err != nil {
			return Desired{}, fmt.Errorf("volume %q: %w", key, err)
		}
		d.Volumes = append(d.Volumes, Resource{Name: v.Name, External: bool(v.External)})
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
	if _, _, err := serviceMounts(p, s, project.ContainerName(p.Name, s, 1)); err != nil {
		return DesiredService{}, err
	}
	if s.MemLimit < 0 || s.MemReservation < 0 || s.ShmSize < 0 {
		return DesiredService{}, fmt.Errorf("service %q: a memory size is out of range", s.Name)
	}
	ds := DesiredService{
		Name:           s.Name,
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
	ds.Deps = serviceDeps(g, s.Name)
	return ds, nil
}

// serviceDeps folds the graph's edges to one Dep per dependency: the
// strictest condition wins, and any namespace-sharing edge marks it.
func serviceDeps(g *project.Graph, service string) []Dep {
	var deps []Dep
	for _, e := range g.Dependencies(service) {
		i := slices.IndexFunc(deps, func(d Dep) bool { return d.Service == e.To })
		if i < 0 {
			deps = append(deps, Dep{Service: e.To, Condition: ConditionStarted, Required: e.Required})
			i = len(deps) - 1
		}
		d := &deps[i]
		switch e.Kind {
		case project.EdgeDependsOn:
			if e.Condition != "" && conditionRank(e.Condition) > conditionRank(d.Condition) {
				d.Condition = e.Condition
			}
			d.Restart = d.Restart || e.Restart
			d.Required = d.Required || e.Required
		case project.EdgeNetworkMode, project.EdgeIPC, project.EdgePID, project.EdgeVolumesFrom:
			d.Namespace = true
		}
	}
	return deps
}

func conditionRank(c string) int {
	switch c {
	case ConditionHealthy:
		return 1
	case ConditionCompleted:
		return 2
	}
	return 0
}

func containerNames(projectName string, s types.ServiceConfig, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = project.ContainerName(projectName, s, i+1)
	}
	return names
}
