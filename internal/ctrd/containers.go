package ctrd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/runspec"
)

// ContainerSpec is everything berth decides about a container (runspec owns the type:
// the translation of a service produces it without importing containerd).
type ContainerSpec = runspec.Container

// ContainerInfo is a container as containerd knows it, with its task.
type ContainerInfo struct {
	ID       string
	Labels   map[string]string
	Image    string
	Created  time.Time
	Status   string // created (no task or task created), running, paused, stopped
	ExitCode int
	ExitedAt time.Time
	PID      uint32
}

// Task states of ContainerInfo.Status.
const (
	TaskNone    = "none"
	TaskCreated = "created"
	TaskRunning = "running"
	TaskPaused  = "paused"
	TaskStopped = "stopped"
)

const defaultShmSize = 64 << 20

// CreateContainer creates the container and its snapshot. It does not
// start it. On failure nothing is left behind. Debris a killed berth left under
// the same name (the container, its snapshot, its lease) is cleared, and the
// creation tried once more.
func (c *Client) CreateContainer(ctx context.Context, spec ContainerSpec) error {
	ctx = c.Context(ctx)
	img, err := c.imageForCreate(ctx, spec.Image)
	if err != nil {
		return fmt.Errorf("create container %s: image %s: %w", spec.ID, spec.Image, err)
	}
	err = c.newContainer(ctx, spec, img)
	if errdefs.IsAlreadyExists(err) {
		if err := c.DeleteContainer(ctx, spec.ID); err != nil {
			return fmt.Errorf("create container %s: clear what an earlier run left: %w", spec.ID, err)
		}
		err = c.newContainer(ctx, spec, img)
	}
	if err != nil {
		return fmt.Errorf("create container %s: %w", spec.ID, err)
	}
	return nil
}

func (c *Client) newContainer(ctx context.Context, spec ContainerSpec, img createImage) error {
	// a snapshot prepared before the container record exists is held by a lease:
	// the caller's (up holds one for all it creates, see CreateLease), or one of
	// our own named after the container. If berth is killed in between, the next
	// create or delete of the same name removes the snapshot.
	if _, ok := leases.FromContext(ctx); !ok {
		if err := c.deleteCreateLease(ctx, spec.ID); err != nil {
			return err
		}
		lctx, done, err := c.client.WithLease(ctx, leases.WithID(createLease(spec.ID)), leases.WithExpiration(24*time.Hour))
		if err != nil {
			return err
		}
		defer func() { _ = done(context.WithoutCancel(ctx)) }()
		ctx = lctx
	}
	var rootfs []mount.Mount
	ctr, err := c.client.NewContainer(ctx, spec.ID,
		containerd.WithImageName(img.name),
		c.withNewSnapshot(spec.ID, img.chainID, &rootfs),
		containerd.WithContainerLabels(spec.Labels),
		containerd.WithNewSpec(specOpts(img, spec)...),
	)
	if err != nil {
		// NewContainer leaves a prepared snapshot when the spec fails
		_ = c.snapshotService().Remove(ctx, spec.ID)
		return err
	}
	c.containers.Store(spec.ID, freshContainer{ctr: ctr, rootfs: rootfs})
	return nil
}

// freshContainer is a container this client created and gave no task yet, with the
// mounts of its root filesystem as the snapshotter prepared them.
type freshContainer struct {
	ctr    containerd.Container
	rootfs []mount.Mount
}

// withNewSnapshot prepares the container's writable snapshot on the image's
// layers, known by their chain ID: what containerd.WithNewSnapshot does without
// reading the image's manifest and config again for every container. It keeps the
// snapshot's mounts for the task.
func (c *Client) withNewSnapshot(id, chainID string, rootfs *[]mount.Mount) containerd.NewContainerOpts {
	return func(ctx context.Context, _ *containerd.Client, ctr *containers.Container) error {
		mounts, err := c.client.SnapshotService(c.snapshotter).Prepare(ctx, id, chainID)
		if err != nil {
			return err
		}
		ctr.Snapshotter, ctr.SnapshotKey, *rootfs = c.snapshotter, id, mounts
		return nil
	}
}

// createImage is what creating a container needs of its image. It reads the
// image's index, manifest and config through the blob cache: up creates many
// containers of one image, and each read is a round trip to containerd.
type createImage struct {
	name    string
	config  ocispec.Descriptor
	chainID string
	store   content.Store
}

// Config and ContentStore make createImage an oci.Image for oci.WithImageConfig.
func (i createImage) Config(context.Context) (ocispec.Descriptor, error) { return i.config, nil }
func (i createImage) ContentStore() content.Store                        { return i.store }

func (c *Client) imageForCreate(ctx context.Context, ref string) (createImage, error) {
	meta, err := c.client.ImageService().Get(ctx, ref)
	if err != nil {
		return createImage{}, err
	}
	config, err := meta.Config(ctx, c.blobs, c.platform)
	if err != nil {
		return createImage{}, err
	}
	var ociImage ocispec.Image
	if err := readJSONBlob(ctx, c.blobs, config, &ociImage); err != nil {
		return createImage{}, err
	}
	return createImage{
		name:    meta.Name,
		config:  config,
		chainID: identity.ChainID(ociImage.RootFS.DiffIDs).String(),
		store:   cachedStore{Store: c.client.ContentStore(), blobs: c.blobs},
	}, nil
}

// cachedStore is the content store with reads served by the blob cache.
type cachedStore struct {
	content.Store
	blobs *blobCache
}

func (s cachedStore) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	return s.blobs.ReaderAt(ctx, desc)
}

func specOpts(img oci.Image, s ContainerSpec) []oci.SpecOpts {
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(s.Args...),
		oci.WithEnv(s.Env),
		oci.WithHostname(s.Hostname),
		oci.WithDomainname(s.Domainname),
		oci.WithMounts(s.Mounts),
		oci.WithDevShmSize(shmKiB(s.ShmSize)),
		withProcess(s),
	}
	if s.Cwd != "" {
		opts = append(opts, oci.WithProcessCwd(s.Cwd))
	}
	if s.User != "" {
		opts = append(opts, oci.WithUser(s.User))
	}
	if len(s.GroupAdd) > 0 {
		opts = append(opts, oci.WithAppendAdditionalGroups(s.GroupAdd...))
	}
	if s.Tty {
		opts = append(opts, oci.WithTTY)
	}
	opts = append(opts, namespaceOpts(s)...)
	opts = append(opts, securityOpts(s)...)
	opts = append(opts, resourceOpts(s)...)
	if len(s.Annotations) > 0 {
		opts = append(opts, oci.WithAnnotations(s.Annotations))
	}
	return opts
}

func shmKiB(size int64) int64 {
	if size <= 0 {
		size = defaultShmSize
	}
	return size / 1024
}

// withProcess sets what the oci helpers have no option for.
func withProcess(s ContainerSpec) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		sp.Process.Terminal = s.Tty
		if len(s.Sysctls) > 0 {
			if sp.Linux.Sysctl == nil {
				sp.Linux.Sysctl = map[string]string{}
			}
			for k, v := range s.Sysctls {
				sp.Linux.Sysctl[k] = v
			}
		}
		sp.Process.Rlimits = append(sp.Process.Rlimits, s.Rlimits...)
		if s.OOMScoreAdj != 0 {
			adj := s.OOMScoreAdj
			sp.Process.OOMScoreAdj = &adj
		}
		return nil
	}
}

func namespaceOpts(s ContainerSpec) []oci.SpecOpts {
	var opts []oci.SpecOpts
	join := func(t specs.LinuxNamespaceType, path string) {
		switch path {
		case "":
		case "host":
			opts = append(opts, oci.WithHostNamespace(t))
		default:
			opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: t, Path: path}))
		}
	}
	join(specs.NetworkNamespace, s.NetNSPath)
	join(specs.IPCNamespace, s.IPCPath)
	join(specs.PIDNamespace, s.PIDPath)
	return opts
}

func securityOpts(s ContainerSpec) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if s.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices, oci.WithWriteableSysfs, oci.WithWriteableCgroupfs)
	} else {
		if len(s.CapAdd) > 0 {
			opts = append(opts, oci.WithAddedCapabilities(capNames(s.CapAdd)))
		}
		if len(s.CapDrop) > 0 {
			opts = append(opts, oci.WithDroppedCapabilities(capNames(s.CapDrop)))
		}
	}
	if s.Privileged || s.Seccomp == "unconfined" {
		opts = append(opts, oci.WithSeccompUnconfined)
	} else {
		opts = append(opts, seccomp.WithDefaultProfile())
	}
	if s.ReadOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if s.NoNewPrivileges {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts
}

// capNames accepts Docker's spellings (NET_ADMIN, cap_net_admin, ALL).
func capNames(caps []string) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		c = strings.ToUpper(c)
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out[i] = c
	}
	return out
}

func resourceOpts(s ContainerSpec) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if s.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(s.MemoryLimit)))
	}
	if s.MemorySwap != 0 {
		opts = append(opts, oci.WithMemorySwap(s.MemorySwap))
	}
	if s.MemoryReserve > 0 {
		opts = append(opts, withMemoryReservation(s.MemoryReserve))
	}
	if s.PidsLimit > 0 {
		opts = append(opts, oci.WithPidsLimit(s.PidsLimit))
	}
	if s.CPUQuota > 0 {
		opts = append(opts, oci.WithCPUCFS(s.CPUQuota, s.CPUPeriod))
	}
	if s.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(s.CPUShares))
	}
	if s.CPUSet != "" {
		opts = append(opts, oci.WithCPUs(s.CPUSet))
	}
	return opts
}

func withMemoryReservation(n int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
		if sp.Linux.Resources.Memory == nil {
			sp.Linux.Resources.Memory = &specs.LinuxMemory{}
		}
		sp.Linux.Resources.Memory.Reservation = &n
		return nil
	}
}

// ErrContainerNotFound is Container's answer for an ID containerd does not hold.
var ErrContainerNotFound = fmt.Errorf("container %w", errdefs.ErrNotFound)

// ListContainers returns the containers whose labels include all of
// labels, with the state of their tasks, in one round trip for the tasks.
// containerd asks every shim of the namespace for its task's state: tasks
// are listed only when some container matched.
func (c *Client) ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error) {
	ctx = c.Context(ctx)
	var filters []string
	for k, v := range labels {
		filters = append(filters, fmt.Sprintf("labels.%q==%q", k, v))
	}
	list, err := c.client.ContainerService().List(ctx, strings.Join(filters, ","))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	if len(list) == 0 {
		return []ContainerInfo{}, nil
	}
	tasks, err := c.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	byID := map[string]*tasktypes.Process{}
	for _, t := range tasks.Tasks {
		byID[t.ID] = t
	}
	out := make([]ContainerInfo, 0, len(list))
	for _, ctr := range list {
		out = append(out, containerInfo(ctr, byID[ctr.ID]))
	}
	return out, nil
}

// Container returns one container by ID with its task's state, or
// ErrContainerNotFound. It reads one record and asks one shim, where a list
// filtered down to the same container reads every record of the namespace
// and asks every shim.
func (c *Client) Container(ctx context.Context, id string) (ContainerInfo, error) {
	ctx = c.Context(ctx)
	ctr, err := c.client.ContainerService().Get(ctx, id)
	if errdefs.IsNotFound(err) {
		return ContainerInfo{}, fmt.Errorf("%w: %s", ErrContainerNotFound, id)
	}
	if err != nil {
		return ContainerInfo{}, fmt.Errorf("get container %s: %w", id, err)
	}
	resp, err := c.client.TaskService().Get(ctx, &tasksapi.GetRequest{ContainerID: id})
	var task *tasktypes.Process
	switch err = errgrpc.ToNative(err); {
	case err == nil:
		task = resp.Process
	case errdefs.IsNotFound(err), errdefs.IsUnavailable(err), errdefs.IsDeadlineExceeded(err):
		// no task, or a shim that does not answer: a list leaves such a task out too
	default:
		return ContainerInfo{}, fmt.Errorf("get task %s: %w", id, err)
	}
	return containerInfo(ctr, task), nil
}

// containerInfo joins a container's record and its task, nil when it has none.
func containerInfo(ctr containers.Container, t *tasktypes.Process) ContainerInfo {
	info := ContainerInfo{ID: ctr.ID, Labels: ctr.Labels, Image: ctr.Image, Created: ctr.CreatedAt, Status: TaskNone}
	if t != nil {
		info.PID = t.Pid
		info.Status = taskStatus(t.Status)
		info.ExitCode = int(t.ExitStatus)
		if t.ExitedAt != nil {
			info.ExitedAt = t.ExitedAt.AsTime()
		}
	}
	return info
}

func taskStatus(s tasktypes.Status) string {
	switch s {
	case tasktypes.Status_RUNNING:
		return TaskRunning
	case tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
		return TaskPaused
	case tasktypes.Status_STOPPED:
		return TaskStopped
	case tasktypes.Status_CREATED:
		return TaskCreated
	}
	return TaskNone
}

func createLease(id string) string { return "berth-create-" + id }

// CreateLease returns ctx with a lease, named id, that holds every snapshot
// CreateContainer prepares under it until the container record holds it: one
// lease for a whole up instead of one per container (three round trips and two
// metadata commits each). A lease a killed berth left under the name is
// replaced; release deletes it.
func (c *Client) CreateLease(ctx context.Context, id string) (_ context.Context, release func(), err error) {
	ls := c.client.LeasesService()
	opts := []leases.Opt{leases.WithID(id), leases.WithExpiration(24 * time.Hour)}
	l, err := ls.Create(c.Context(ctx), opts...)
	if errdefs.IsAlreadyExists(err) {
		if err := c.ReleaseLease(ctx, id); err != nil {
			return nil, nil, err
		}
		l, err = ls.Create(c.Context(ctx), opts...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("create lease %s: %w", id, err)
	}
	release = func() { _ = ls.Delete(c.Context(context.WithoutCancel(ctx)), l) }
	return leases.WithLease(ctx, l.ID), release, nil
}

// ReleaseLease deletes the lease CreateLease made under the name, if it is there:
// what it held and no container holds goes with containerd's next collection.
func (c *Client) ReleaseLease(ctx context.Context, id string) error {
	err := c.client.LeasesService().Delete(c.Context(ctx), leases.Lease{ID: id})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete lease %s: %w", id, err)
	}
	return nil
}

func (c *Client) deleteCreateLease(ctx context.Context, id string) error {
	return c.ReleaseLease(ctx, createLease(id))
}

// DeleteContainer kills and deletes the container's task, then the
// container and its snapshot. A missing container is no error.
func (c *Client) DeleteContainer(ctx context.Context, id string) error {
	ctx = c.Context(ctx)
	c.created.Delete(id)
	c.containers.Delete(id)
	if err := c.deleteCreateLease(ctx, id); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	if err := c.deleteTaskOf(ctx, id); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	// the record goes before the snapshot: a crash in between leaves an
	// orphan snapshot named after the container, which the next create or
	// delete of that name removes, never a container without its rootfs
	if err := c.client.ContainerService().Delete(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return c.removeSnapshot(ctx, id)
}

// deleteTaskOf deletes the container's task. A stopped task (down's case: it was
// just stopped), a created one or none at all takes one round trip to the task
// service, where the client's path takes six; a task still running is killed
// first.
func (c *Client) deleteTaskOf(ctx context.Context, id string) error {
	_, err := c.client.TaskService().Delete(ctx, &tasksapi.DeleteTaskRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); err == nil || errdefs.IsNotFound(err) {
		return nil
	}
	ctr, lerr := c.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(lerr) {
		return nil
	}
	if lerr != nil {
		return lerr
	}
	return c.deleteTask(ctx, ctr)
}

// removeSnapshot removes a snapshot a crash left without its container.
func (c *Client) removeSnapshot(ctx context.Context, key string) error {
	err := c.snapshotService().Remove(ctx, key)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove snapshot %s: %w", key, err)
	}
	return nil
}

func (c *Client) snapshotService() interface {
	Remove(ctx context.Context, key string) error
} {
	return c.client.SnapshotService(c.snapshotter)
}

// deleteTask kills the task if it still runs and deletes it.
func (c *Client) deleteTask(ctx context.Context, ctr containerd.Container) error {
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = task.Delete(ctx, containerd.WithProcessKill)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task: %w", err)
	}
	return nil
}

// errNoTask tells callers that the container has no task to act on.
var errNoTask = errors.New("container has no task")
