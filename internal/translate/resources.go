package translate

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/project"
)

// Volume is a named volume as the volume manager creates it.
type Volume struct {
	Name   string
	Labels map[string]string
	// Device is a host directory the volume binds (driver_opts o=bind, device=PATH).
	Device string
}

// VolumeSpec converts a Compose volume, its labels the record of it with the hash of
// its definition.
func VolumeSpec(projectName, key string, v types.VolumeConfig) (Volume, []string, error) {
	spec := Volume{Name: v.Name, Labels: record.Resource{Project: projectName, Key: key, Hash: project.VolumeHash(v), User: v.Labels}.VolumeLabels()}
	if v.Driver != "" && v.Driver != "local" {
		return spec, nil, fmt.Errorf("volume %q: driver %q is not supported: berth volumes are local", key, v.Driver)
	}
	var warnings []string
	if v.DriverOpts["o"] == "bind" && v.DriverOpts["device"] != "" {
		spec.Device = v.DriverOpts["device"]
	} else if len(v.DriverOpts) > 0 {
		warnings = append(warnings, fmt.Sprintf("volume %q: driver_opts other than o=bind,device=PATH are not supported and are ignored", key))
	}
	return spec, warnings, nil
}

// AnonymousVolumeSpec is the volume a container's anonymous mount uses.
func AnonymousVolumeSpec(projectName, volume, container string) Volume {
	return Volume{Name: volume, Labels: map[string]string{record.LabelProject: projectName, record.LabelAnonymous: container}}
}
