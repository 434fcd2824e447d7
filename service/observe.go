package service

import (
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/project"
)

// Container states, as Docker names them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StatePaused     = "paused"
	StateRestarting = "restarting"
	StateExited     = "exited"
	StateDead       = "dead"
)

// Container is an observed container of the project, read from its labels
// and its task.
type Container struct {
	ID         string
	Name       string
	Service    string
	Number     int
	Oneoff     bool
	ConfigHash string
	ImageID    string
	Image      string
	State      string
	ExitCode   int
	PID        uint32
	Labels     map[string]string
	Created    time.Time
	StartedAt  time.Time
	ExitedAt   time.Time
}

// Running says whether the container's task runs (or is paused) and is
// not being stopped.
func (c Container) Running() bool {
	return (c.State == StateRunning || c.State == StatePaused) && c.Labels[LabelStopping] != "true"
}

// containerFromLabels fills the compose fields of a Container from its
// labels: labels are the source of truth, so ps, logs and down need no
// Compose file.
func containerFromLabels(id string, labels map[string]string) Container {
	n, _ := strconv.Atoi(labels[project.LabelNumber])
	name := labels[project.LabelContainerName]
	if name == "" {
		name = id
	}
	return Container{
		ID:         id,
		Name:       name,
		Service:    labels[project.LabelService],
		Number:     n,
		Oneoff:     strings.EqualFold(labels[project.LabelOneoff], "true"),
		ConfigHash: labels[project.LabelConfigHash],
		ImageID:    labels[project.LabelImage],
		Labels:     labels,
	}
}

// depsFromLabel parses com.docker.compose.depends_on, which Docker Compose
// writes as "svc:condition:restart,..." so that down can order stops
// without the Compose file.
func depsFromLabel(v string) []Dep {
	var deps []Dep
	for _, item := range strings.Split(v, ",") {
		parts := strings.Split(item, ":")
		if parts[0] == "" {
			continue
		}
		d := Dep{Service: parts[0], Condition: ConditionStarted, Required: true}
		if len(parts) > 1 {
			d.Condition = parts[1]
		}
		if len(parts) > 2 {
			d.Restart = parts[2] == "true"
		}
		deps = append(deps, d)
	}
	return deps
}

// depsLabel is the inverse of depsFromLabel.
func depsLabel(deps []Dep) string {
	var items []string
	for _, d := range deps {
		items = append(items, d.Service+":"+d.Condition+":"+strconv.FormatBool(d.Restart))
	}
	return strings.Join(items, ",")
}
