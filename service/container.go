package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// undo collects the clean-up of a half-done creation; it runs in reverse
// order unless the creation succeeded.
type undo []func()

func (u *undo) add(f func()) { *u = append(*u, f) }

func (u undo) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// createContainer makes one replica: volumes, network namespace and
// interfaces, generated /etc files, the container itself, then seeds new
// volumes. Whatever fails leaves nothing behind.
func (r *upRunner) createContainer(ctx context.Context, op *Op) (err error) {
	d, number, name := op.Desired, op.Number, op.Name
	s, service := d.Config, d.Name
	info, ok := r.images[service]
	if !ok {
		return fmt.Errorf("service %q: image %s is not present", service, project.ImageName(r.p.Name, s))
	}
	img := translate.Image{Ref: info.Name, ID: info.ID, Config: info.Config, Health: info.Healthcheck}
	var cleanup undo
	defer func() {
		if err != nil {
			cleanup.run()
		}
	}()
	if err := r.e.clearDebris(ctx, name); err != nil {
		return fmt.Errorf("service %q: %w", service, err)
	}
	mounts, seeds, err := r.prepareMounts(s, name, &cleanup)
	if err != nil {
		return err
	}
	shared, err := r.volumesFrom(ctx, s)
	if err != nil {
		return err
	}
	mounts = append(mounts, shared...)
	att, err := r.prepareNetwork(ctx, s, name, number, &cleanup)
	if err != nil {
		return err
	}
	cleanup.add(func() { _ = os.RemoveAll(r.e.containerDir(name)) })
	etc, err := r.e.writeEtcFiles(s, name, att.ifaces)
	if err != nil {
		return err
	}
	files, err := r.e.secretMounts(r.p, s, name)
	if err != nil {
		return err
	}
	etc = append(etc, files...)
	rot, err := r.e.writeLogging(s, name)
	if err != nil {
		return err
	}
	spec, warnings, err := translate.Container(translate.Input{Project: r.p, Service: s, Number: number, Name: name,
		Image: img, Hash: d.Hash, Deps: d.Deps, Mounts: append(etc, mounts...), Oneoff: r.oneoff,
		NetNS: att.netns, Networks: attachNames(att.req), Ports: att.ports})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		r.e.warn(w)
	}
	driver, driverErr := r.e.logDriverWith(name, rot)
	if driverErr == nil {
		maps.Copy(spec.Labels, driver.RestartLogLabels())
	}
	if err := r.e.Runtime.CreateContainer(ctx, spec); err != nil {
		return fmt.Errorf("service %q: %w", service, err)
	}
	cleanup.add(func() { _ = r.e.Runtime.DeleteContainer(context.WithoutCancel(ctx), name) })
	if err := r.seedVolumes(ctx, name, seeds); err != nil {
		return err
	}
	if !r.startsLater[name] {
		return nil
	}
	// the task is made now, with everything else created at once: the start
	// that waits for dependencies is then only runc's start
	if driverErr != nil {
		return driverErr
	}
	if err := r.e.Runtime.CreateTask(ctx, name, driver); err != nil {
		return fmt.Errorf("service %q: %w", service, err)
	}
	return nil
}

// volumesFrom copies the volume and bind mounts of other containers, as
// volumes_from asks: "service[:ro|rw]" or "container:NAME[:ro|rw]".
func (r *upRunner) volumesFrom(ctx context.Context, s types.ServiceConfig) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, entry := range s.VolumesFrom {
		source, mode := volumesFromEntry(entry)
		if svc, ok := strings.CutPrefix(source, "container:"); ok {
			source = svc
		} else {
			source = project.ContainerName(r.p.Name, r.p.Services[source], 1)
		}
		mounts, err := r.e.Runtime.Mounts(ctx, source)
		if err != nil {
			return nil, fmt.Errorf("service %q: volumes_from %s: %w", s.Name, entry, err)
		}
		for _, m := range mounts {
			if m.Type != "bind" || etcFiles[m.Destination] {
				continue
			}
			out = append(out, withAccess(m, mode))
		}
	}
	return out, nil
}

// etcFiles are generated per container: never shared.
var etcFiles = map[string]bool{"/etc/hosts": true, "/etc/resolv.conf": true, "/etc/hostname": true}

func volumesFromEntry(entry string) (source, mode string) {
	i := strings.LastIndex(entry, ":")
	if i > 0 && (entry[i+1:] == "ro" || entry[i+1:] == "rw") {
		return entry[:i], entry[i+1:]
	}
	return entry, ""
}

// withAccess forces a copied mount read-only or read-write when asked.
func withAccess(m specs.Mount, mode string) specs.Mount {
	if mode == "" {
		return m
	}
	var opts []string
	for _, o := range m.Options {
		if o != "ro" && o != "rw" {
			opts = append(opts, o)
		}
	}
	m.Options = append(opts, mode)
	return m
}

// clearDebris removes what a berth killed half-way through creating this
// container may have left of its network under its name: an attachment, a
// network namespace. The plan only creates names that have no container, so
// none of it is in use. What containerd holds under the name (a snapshot
// without container, its lease) is cleared by CreateContainer when it trips
// over it: looking for it first cost three round trips per container.
func (e *Engine) clearDebris(ctx context.Context, name string) error {
	return e.Networks.Detach(ctx, e.Networks.NetNSPath(name), network.AttachRequest{ContainerID: name})
}

// seed is a new, empty volume to fill from the image at a path.
type seed struct {
	volume volumes.Volume
	target string
}

// prepareMounts creates anonymous volumes and resolves every mount.
func (r *upRunner) prepareMounts(s types.ServiceConfig, name string, cleanup *undo) ([]specs.Mount, []seed, error) {
	vms, warnings, err := translate.Mounts(r.p, s, name)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		r.e.warn(w)
	}
	var mounts []specs.Mount
	var seeds []seed
	for _, m := range vms {
		host := ""
		if m.Kind == "volume" {
			v, isNew, err := r.volumeFor(m, name)
			if err != nil {
				return nil, nil, fmt.Errorf("service %q: %w", s.Name, err)
			}
			if isNew && m.Anon {
				cleanup.add(func() { _ = r.e.Volumes.Remove(v.Name) })
			}
			if empty, _ := r.e.Volumes.IsEmpty(v); empty && !m.NoCopy {
				seeds = append(seeds, seed{volume: v, target: m.Target})
			}
			host = v.Mountpoint
		}
		if m.Kind == "bind" {
			if err := ensureBindSource(m); err != nil {
				return nil, nil, fmt.Errorf("service %q: %w", s.Name, err)
			}
		}
		mounts = append(mounts, translate.OCIMount(m, host))
	}
	return mounts, seeds, nil
}

// volumeFor returns the volume a mount uses, creating anonymous ones.
func (r *upRunner) volumeFor(m translate.Mount, container string) (volumes.Volume, bool, error) {
	if !m.Anon {
		v, err := r.e.Volumes.Get(m.Volume)
		return v, false, err
	}
	return r.e.Volumes.Create(volumeSpec(translate.AnonymousVolumeSpec(r.p.Name, m.Volume, container)))
}

// seedVolumes copies the image's content into new volumes, as Docker does.
func (r *upRunner) seedVolumes(ctx context.Context, name string, seeds []seed) error {
	if len(seeds) == 0 {
		return nil
	}
	return r.e.Runtime.WithRootfs(ctx, name, func(root string) error {
		for _, sd := range seeds {
			if err := volumes.Seed(root, sd.target, sd.volume.Mountpoint); err != nil {
				return fmt.Errorf("volume %q: %w", sd.volume.Name, err)
			}
		}
		return nil
	})
}

// attached is a container's network set-up.
type attached struct {
	netns  string
	req    network.AttachRequest
	ifaces []network.Interface
	ports  []network.PortMapping
}

// prepareNetwork gives the container its network namespace and attaches it
// to its networks, as network_mode says.
func (r *upRunner) prepareNetwork(ctx context.Context, s types.ServiceConfig, name string, number int, cleanup *undo) (attached, error) {
	mode := s.NetworkMode
	switch {
	case mode == "host":
		return attached{netns: "host"}, nil
	case strings.HasPrefix(mode, "service:"):
		target := project.ContainerName(r.p.Name, r.p.Services[strings.TrimPrefix(mode, "service:")], 1)
		path, err := r.e.netnsOf(ctx, target)
		return attached{netns: path}, err
	case strings.HasPrefix(mode, "container:"):
		path, err := r.e.netnsOf(ctx, strings.TrimPrefix(mode, "container:"))
		return attached{netns: path}, err
	}
	a := attached{req: network.AttachRequest{ContainerID: name}}
	var err error
	if mode != "none" {
		if a.req, err = translate.Attachments(r.p, s, name, number); err != nil {
			return a, err
		}
	}
	if a.netns, err = r.e.Networks.CreateNetNS(name); err != nil {
		return a, fmt.Errorf("service %q: %w", s.Name, err)
	}
	detach := func() { _ = r.e.Networks.Detach(context.WithoutCancel(ctx), a.netns, a.req) }
	if a.ifaces, a.ports, err = r.e.Networks.Attach(ctx, a.netns, a.req); err != nil {
		detach()
		return a, fmt.Errorf("service %q: %w", s.Name, err)
	}
	cleanup.add(detach)
	return a, nil
}

// netnsOf finds the network namespace another of berth's containers recorded.
func (e *Engine) netnsOf(ctx context.Context, containerName string) (string, error) {
	c, found, err := e.store().Container(ctx, containerName)
	if err != nil {
		return "", err
	}
	if found && c.NetNS != "" {
		return c.NetNS, nil
	}
	return "", fmt.Errorf("network_mode: container %s not found or has no network namespace", containerName)
}

func attachNames(req network.AttachRequest) []string {
	var out []string
	for _, a := range req.Networks {
		out = append(out, a.Network)
	}
	return out
}

// startContainer starts the container as a person asks it: its restart
// count and health start afresh.
func (e *Engine) startContainer(ctx context.Context, name string) error {
	if err := os.MkdirAll(e.containerDir(name), 0o700); err != nil {
		return err
	}
	if err := e.supervisionFiles().Reset(name); err != nil {
		return err
	}
	// a person's start lifts an earlier stop
	if err := e.updateState(name, func(st *runState) { st.Stopping = false }); err != nil {
		return err
	}
	started, err := e.launch(ctx, name)
	if err != nil {
		return err
	}
	// only once the task runs: containerd's restart monitor starts tasks
	// of containers so marked, and would race this start
	if p := record.Decode(started.Labels).Restart; p == "always" || p == "unless-stopped" {
		return e.Runtime.SetLabels(ctx, name, map[string]string{restartStatusLabel: "running"})
	}
	return nil
}

// launch starts the container's task, its output captured by berth-logger
// with the rotation chosen at create.
func (e *Engine) launch(ctx context.Context, name string) (ctrd.Started, error) {
	driver, err := e.logDriver(name)
	if err != nil {
		return ctrd.Started{}, err
	}
	// the start time is the process's own (fromInfo), so nothing is written
	// here; the stopping mark is left alone: a stop racing a policy restart wins
	return e.Runtime.StartTask(ctx, name, driver)
}

// removeContainer stops the container with its stop signal and grace
// period, deletes it, detaches it from its networks and removes its
// generated files; anonymous volumes go too unless the container is being
// recreated.
func (e *Engine) removeContainer(ctx context.Context, c Container, timeout *time.Duration, keepAnon bool) error {
	if err := e.stopForRemoval(ctx, c, timeout); err != nil {
		return err
	}
	return e.deleteStopped(ctx, c, keepAnon)
}

// stopForRemoval stops the container with its stop signal and grace period
// (--timeout overriding it). Its networks stay until its process has
// exited: a process may need them to shut down gracefully.
func (e *Engine) stopForRemoval(ctx context.Context, c Container, timeout *time.Duration) error {
	// marked first: if berth dies while the process handles its signal, the
	// next up knows the container is on its way out and starts it again
	if c.Running() {
		if err := e.markStopping(ctx, c); err != nil {
			return err
		}
	}
	return e.Runtime.StopContainer(ctx, c.ID, c.StopSignal, stopGrace(c, timeout))
}

// deleteStopped deletes a stopped container, detaches it from its networks
// and removes its generated files, and its anonymous volumes unless
// keepAnon.
func (e *Engine) deleteStopped(ctx context.Context, c Container, keepAnon bool) error {
	if err := e.deleteAndDetach(ctx, c); err != nil {
		return err
	}
	if !keepAnon {
		if err := e.removeAnonymousVolumes(c.Name); err != nil {
			return err
		}
	}
	return removeDir(e.containerDir(c.Name))
}

// deleteAndDetach deletes the stopped container (its task, record and
// snapshot), then detaches it from its networks. In that order a crash in
// between leaves attachments without a container, which the next up clears
// before it creates the container again and the next down detaches; the
// other way round it would leave a container whose network namespace is
// gone, which the next up would try to start.
func (e *Engine) deleteAndDetach(ctx context.Context, c Container) error {
	if err := e.Runtime.DeleteContainer(ctx, c.ID); err != nil {
		return err
	}
	return e.detach(ctx, c)
}

// detach releases the container's network namespace and addresses. The
// network package keeps what it did per container, so this needs neither
// the Compose file nor complete labels (a one-off, a crash).
func (e *Engine) detach(ctx context.Context, c Container) error {
	ns := c.NetNS
	if ns == "host" || (ns != "" && !strings.HasSuffix(ns, "/"+c.Name)) {
		return nil // the host's namespace or another container's: not ours to free
	}
	return e.Networks.Detach(ctx, e.Networks.NetNSPath(c.Name), network.AttachRequest{ContainerID: c.Name})
}

func (e *Engine) removeAnonymousVolumes(container string) error {
	vols, err := e.Volumes.List()
	if err != nil {
		return err
	}
	for _, v := range vols {
		if v.Labels[record.LabelAnonymous] == container {
			if err := e.Volumes.Remove(v.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeDir removes a container's directory. A file written into it while it goes (a
// health probe that was under way) makes RemoveAll fail with "directory not empty":
// the next pass removes it.
func removeDir(dir string) error {
	var err error
	for range 3 {
		if err = os.RemoveAll(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	return leftFiles{fmt.Errorf("remove %s: %w", dir, err)}
}

// leftFiles is a removal that left only the container's files behind: down goes on
// with the networks and the helper, and reports it at the end.
type leftFiles struct{ error }

func (l leftFiles) Unwrap() error { return l.error }
