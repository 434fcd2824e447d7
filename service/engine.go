package service

import (
	"context"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/netspec"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/service/runstate"
	"github.com/berth-dev/berth/volumes"
)

// Runtime is what the reconciler needs of containerd; *ctrd.Client
// implements it and tests swap in fakes.
type Runtime interface {
	ListContainers(ctx context.Context, labels map[string]string) ([]ctrd.ContainerInfo, error)
	// Container returns one container, or an error wrapping ctrd.ErrContainerNotFound.
	Container(ctx context.Context, id string) (ctrd.ContainerInfo, error)
	ImageConfig(ctx context.Context, ref string) (ctrd.ImageInfo, error)
	PullAll(ctx context.Context, refs []string, sink progress.Sink) error
	CreateContainer(ctx context.Context, spec ctrd.ContainerSpec) error
	CreateTask(ctx context.Context, id string, logs ctrd.LogDriver) error
	StartTask(ctx context.Context, id string, logs ctrd.LogDriver) (ctrd.Started, error)
	StopContainer(ctx context.Context, id, signal string, timeout time.Duration) error
	DeleteContainer(ctx context.Context, id string) error
	Exec(ctx context.Context, id string, spec ctrd.ExecSpec) (int, error)
	Wait(ctx context.Context, id string) (int, error)
	WithRootfs(ctx context.Context, id string, fn func(root string) error) error
	Mounts(ctx context.Context, id string) ([]specs.Mount, error)
	RemoveImage(ctx context.Context, ref string) error
	SetLabels(ctx context.Context, id string, labels map[string]string) error
}

// Networks is what the reconciler needs of the network package.
type Networks interface {
	Ensure(ctx context.Context, spec network.Spec) (network.Network, error)
	List() ([]network.Network, error)
	Remove(ctx context.Context, name string) error
	CreateNetNS(containerID string) (string, error)
	NetNSPath(containerID string) string
	Attachments(name string) ([]string, error)
	Attach(ctx context.Context, nsPath string, req network.AttachRequest) ([]network.Interface, []network.PortMapping, error)
	Detach(ctx context.Context, nsPath string, req network.AttachRequest) error
}

// Processes reads what the host knows of a process; internal/procfs implements it.
type Processes = runstate.Processes

// Helper is berth's on-demand helper process; internal/helper implements it.
type Helper interface {
	Ensure(ctx context.Context, networks ...string) error
	Stop(ctx context.Context) error
}

// Engine reconciles projects with containerd, the networks and the volumes.
type Engine struct {
	Runtime  Runtime
	Networks Networks
	Volumes  *volumes.Manager
	// DataRoot holds berth's state for the namespace: container files live
	// under DataRoot/containers.
	DataRoot  string
	Namespace string
	Progress  progress.Sink
	// Warn receives one line per thing berth cannot honour.
	Warn func(string)
	// Parallel bounds how many operations run at once.
	Parallel int
	// Logger is the berth-logger binary the shims start to capture each
	// container's output; empty writes plain files (tests of the engine).
	Logger string
	// LoggerErr says why there is no Logger; starting a container fails
	// with it.
	LoggerErr error
	// Helper, when set, is berth's helper process (DNS, health checks,
	// restart policies): up makes sure it serves the project's networks,
	// down stops it when the last network is gone.
	Helper Helper
	// Processes tells when a container's process started; nil reads the
	// host's /proc.
	Processes Processes
	// Builder builds images of services with build:.
	Builder Builder
}

func (e *Engine) warn(msg string) {
	if e.Warn != nil {
		e.Warn(msg)
	}
}

func (e *Engine) parallel() int {
	if e.Parallel > 0 {
		return e.Parallel
	}
	return 16
}

// containerDir holds a container's generated files (hosts, resolv.conf)
// and its log.
func (e *Engine) containerDir(name string) string { return e.store().ContainerDir(name) }

// LogPath is where a container's output is stored (berth-logger's JSON
// lines, rotated beside it).
func (e *Engine) LogPath(name string) string { return e.store().LogPath(name) }

// lock serialises up and down of one project: one lock per project, never
// a global one, so two projects proceed in parallel.
func (e *Engine) lock(ctx context.Context, projectName string) (func(), error) {
	if err := project.ValidateName(projectName); err != nil {
		return nil, err
	}
	return e.store().Lock(ctx, projectName)
}

// observe reads what exists of the project: its containers by label, its
// networks and volumes from their managers.
func (e *Engine) observe(ctx context.Context, projectName string) (Observed, error) {
	cs, err := e.observeContainers(ctx, map[string]string{record.LabelProject: projectName})
	if err != nil {
		return Observed{}, err
	}
	o := Observed{Containers: cs, Networks: map[string]bool{}, Volumes: map[string]bool{},
		NetworkRecords: map[string]record.Resource{}, VolumeRecords: map[string]record.Resource{},
		NetworkSpecs: map[string]netspec.Spec{}}
	nets, err := e.Networks.List()
	if err != nil {
		return Observed{}, err
	}
	for _, n := range nets {
		o.Networks[n.Name] = true
		o.NetworkRecords[n.Name] = record.DecodeResource(n.Labels)
		o.NetworkSpecs[n.Name] = n.Spec
	}
	vols, err := e.Volumes.List()
	if err != nil {
		return Observed{}, err
	}
	for _, v := range vols {
		o.Volumes[v.Name] = true
		o.VolumeRecords[v.Name] = record.DecodeResource(v.Labels)
	}
	return o, nil
}

// Containers lists the project's containers, one-offs included, sorted by
// name: what ps shows.
func (e *Engine) Containers(ctx context.Context, projectName string) ([]Container, error) {
	o, err := e.observeContainers(ctx, map[string]string{record.LabelProject: projectName})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// observeContainers lists containers by labels.
func (e *Engine) observeContainers(ctx context.Context, labels map[string]string) ([]Container, error) {
	return e.store().Containers(ctx, labels)
}

// projectResources lists the networks and volumes that carry the project's
// label: what down removes.
func (e *Engine) projectResources(projectName string) (nets, vols []string, err error) {
	ns, err := e.Networks.List()
	if err != nil {
		return nil, nil, err
	}
	for _, n := range ns {
		if n.Labels[record.LabelProject] == projectName {
			nets = append(nets, n.Name)
		}
	}
	vs, err := e.Volumes.List()
	if err != nil {
		return nil, nil, err
	}
	for _, v := range vs {
		if v.Labels[record.LabelProject] == projectName {
			vols = append(vols, v.Name)
		}
	}
	return nets, vols, nil
}
