package ctrd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/runtime"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
)

// StopContainer sends the stop signal, waits up to timeout for the process
// to exit, then kills it. It keeps the exited task, so the container shows
// as exited with its exit code until it is started again or deleted.
// No task, or one that already exited, is no error.
func (c *Client) StopContainer(ctx context.Context, id, stopSignal string, timeout time.Duration) error {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if err := stopProcess(ctx, task, stopSignal, timeout); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

// Pause freezes every process of the container.
func (c *Client) Pause(ctx context.Context, id string) error {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err == nil {
		err = task.Pause(ctx)
	}
	if err != nil {
		return fmt.Errorf("pause container %s: %w", id, err)
	}
	return nil
}

// Resume thaws a paused container.
func (c *Client) Resume(ctx context.Context, id string) error {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err == nil {
		err = task.Resume(ctx)
	}
	if err != nil {
		return fmt.Errorf("unpause container %s: %w", id, err)
	}
	return nil
}

// Pids lists the host PIDs of every process in the container.
func (c *Client) Pids(ctx context.Context, id string) ([]uint32, error) {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", id, err)
	}
	procs, err := task.Pids(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", id, err)
	}
	out := make([]uint32, len(procs))
	for i, p := range procs {
		out[i] = p.Pid
	}
	return out, nil
}

// Metrics is a container's cgroup counters at one moment, whichever cgroup
// version the shim reports.
type Metrics struct {
	CPUNanos    uint64 // CPU time used since the container started
	MemUsage    uint64 // bytes charged to the cgroup, page cache included
	MemInactive uint64 // inactive file cache, which Docker leaves out of usage
	MemLimit    uint64 // the cgroup's limit; a huge number when unlimited
	BlockRead   uint64 // bytes
	BlockWrite  uint64 // bytes
	PIDs        uint64
}

// Metrics reads the container's cgroup counters through containerd.
func (c *Client) Metrics(ctx context.Context, id string) (Metrics, error) {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err != nil {
		return Metrics{}, fmt.Errorf("read metrics of %s: %w", id, err)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return Metrics{}, fmt.Errorf("read metrics of %s: %w", id, err)
	}
	data, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return Metrics{}, fmt.Errorf("read metrics of %s: %w", id, err)
	}
	switch d := data.(type) {
	case *v1.Metrics:
		return metricsV1(d), nil
	case *v2.Metrics:
		return metricsV2(d), nil
	}
	return Metrics{}, fmt.Errorf("read metrics of %s: unknown metrics type %T", id, data)
}

func metricsV1(d *v1.Metrics) Metrics {
	var m Metrics
	if u := d.GetCPU().GetUsage(); u != nil {
		m.CPUNanos = u.Total
	}
	if mem := d.GetMemory(); mem != nil {
		m.MemUsage = mem.GetUsage().GetUsage()
		m.MemLimit = mem.GetUsage().GetLimit()
		m.MemInactive = mem.TotalInactiveFile
	}
	for _, e := range d.GetBlkio().GetIoServiceBytesRecursive() {
		switch strings.ToLower(e.Op) {
		case "read":
			m.BlockRead += e.Value
		case "write":
			m.BlockWrite += e.Value
		}
	}
	m.PIDs = d.GetPids().GetCurrent()
	return m
}

func metricsV2(d *v2.Metrics) Metrics {
	var m Metrics
	m.CPUNanos = d.GetCPU().GetUsageUsec() * 1000
	if mem := d.GetMemory(); mem != nil {
		m.MemUsage, m.MemLimit, m.MemInactive = mem.Usage, mem.UsageLimit, mem.InactiveFile
	}
	for _, e := range d.GetIo().GetUsage() {
		m.BlockRead += e.Rbytes
		m.BlockWrite += e.Wbytes
	}
	m.PIDs = d.GetPids().GetCurrent()
	return m
}

// Event is a containerd event about a container, named as Docker names its
// container events (start, die, pause, ...).
type Event struct {
	Time        time.Time
	Action      string
	ContainerID string
	// Attributes carry what the event adds: exitCode for die, execID for
	// exec events.
	Attributes map[string]string
}

// Subscribe streams the container and task events of the client's
// namespace until ctx ends. Events berth has no Docker name for are left
// out. The error channel receives at most one error.
func (c *Client) Subscribe(ctx context.Context) (<-chan Event, <-chan error) {
	ctx = c.Context(ctx)
	envelopes, errs := c.client.Subscribe(ctx, eventFilters(c.namespace)...)
	out := make(chan Event)
	outErr := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case env, ok := <-envelopes:
				if !ok {
					return
				}
				if env == nil {
					continue
				}
				e, ok := decodeEvent(env.Event)
				if !ok {
					continue
				}
				e.Time = env.Timestamp
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if err != nil && ctx.Err() == nil {
					outErr <- fmt.Errorf("subscribe to containerd events: %w", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, outErr
}

// eventTopics are the topics decodeEvent names. containerd sends twice as many
// for a container's life (snapshots, task creation and deletion): asking for
// these alone halves what every subscriber (the helper above all) receives.
var eventTopics = []string{
	"/containers/create", "/containers/delete",
	runtime.TaskStartEventTopic, runtime.TaskExitEventTopic, runtime.TaskPausedEventTopic,
	runtime.TaskResumedEventTopic, runtime.TaskOOMEventTopic,
	runtime.TaskExecAddedEventTopic, runtime.TaskExecStartedEventTopic,
}

// eventFilters selects the namespace's events of eventTopics: containerd
// matches an event that any one filter matches.
func eventFilters(namespace string) []string {
	filters := make([]string, len(eventTopics))
	for i, topic := range eventTopics {
		filters[i] = fmt.Sprintf("namespace==%q,topic==%q", namespace, topic)
	}
	return filters
}

// decodeEvent maps containerd's event types to Docker's container actions.
func decodeEvent(payload typeurl.Any) (Event, bool) {
	if payload == nil {
		return Event{}, false
	}
	v, err := typeurl.UnmarshalAny(payload)
	if err != nil {
		return Event{}, false
	}
	switch e := v.(type) {
	case *apievents.ContainerCreate:
		return Event{Action: "create", ContainerID: e.ID}, true
	case *apievents.ContainerDelete:
		return Event{Action: "destroy", ContainerID: e.ID}, true
	case *apievents.TaskStart:
		return Event{Action: "start", ContainerID: e.ContainerID}, true
	case *apievents.TaskExit:
		attrs := map[string]string{"exitCode": strconv.Itoa(int(e.ExitStatus))}
		if e.ID != "" && e.ID != e.ContainerID {
			attrs["execID"] = e.ID
			return Event{Action: "exec_die", ContainerID: e.ContainerID, Attributes: attrs}, true
		}
		return Event{Action: "die", ContainerID: e.ContainerID, Attributes: attrs}, true
	case *apievents.TaskPaused:
		return Event{Action: "pause", ContainerID: e.ContainerID}, true
	case *apievents.TaskResumed:
		return Event{Action: "unpause", ContainerID: e.ContainerID}, true
	case *apievents.TaskOOM:
		return Event{Action: "oom", ContainerID: e.ContainerID}, true
	case *apievents.TaskExecAdded:
		return Event{Action: "exec_create", ContainerID: e.ContainerID, Attributes: map[string]string{"execID": e.ExecID}}, true
	case *apievents.TaskExecStarted:
		return Event{Action: "exec_start", ContainerID: e.ContainerID, Attributes: map[string]string{"execID": e.ExecID}}, true
	}
	return Event{}, false
}
