package ctrd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	apitypes "github.com/containerd/containerd/api/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/moby/sys/signal"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// LogDriver says where a container's output goes: to a logger binary the
// shim starts with args (berth-logger), or straight into a file.
type LogDriver struct {
	Binary string
	Args   map[string]string
	File   string
}

func (l LogDriver) creator() (cio.Creator, error) {
	if l.Binary != "" {
		return cio.BinaryIO(l.Binary, l.Args), nil
	}
	if err := os.MkdirAll(filepath.Dir(l.File), 0o700); err != nil {
		return nil, err
	}
	return cio.LogFile(l.File), nil
}

// restartLogURI is what containerd's restart monitor starts a restarted
// task's logger with.
func (l LogDriver) restartLogURI() string {
	if l.Binary != "" {
		if u, err := cio.LogURIGenerator("binary", l.Binary, l.Args); err == nil {
			return u.String()
		}
	}
	return "file://" + l.File
}

// CreateTask creates the container's task without starting it: the shim runs,
// runc's init waits in the container's namespaces and the log driver already
// captures its output, so that StartTask has only the start left to do. up
// creates the tasks of a whole project at once this way, and only the starts
// wait for dependencies.
func (c *Client) CreateTask(ctx context.Context, id string, logs LogDriver) error {
	ctr, task, err := c.createdTaskOf(c.Context(ctx), id, logs)
	if err != nil {
		return fmt.Errorf("create task of container %s: %w", id, err)
	}
	c.created.Store(id, createdTask{ctr: ctr, task: task})
	return nil
}

// fresh returns the container if this client created it and gave it no task yet.
func (c *Client) fresh(id string) (freshContainer, bool) {
	v, ok := c.containers.LoadAndDelete(id)
	if !ok {
		return freshContainer{}, false
	}
	return v.(freshContainer), true
}

// pendingTask is a created task waiting for its start: a containerd.Task, or a
// rawTask.
type pendingTask interface {
	Start(ctx context.Context) error
	Delete(ctx context.Context, opts ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error)
	Pid() uint32
}

// createdTask is a task CreateTask made, kept for StartTask.
type createdTask struct {
	ctr  containerd.Container
	task pendingTask
}

// Started is a task StartTask started.
type Started struct {
	PID uint32
	// Labels are the container's, as StartTask found them: callers need no
	// other round trip to read its restart policy.
	Labels map[string]string
}

// StartTask starts the container's process with its output captured by the
// log driver, whether or not berth runs. It starts the task CreateTask made,
// or one an earlier berth created and did not start; a stopped task left
// from an earlier run is deleted and a new one created.
func (c *Client) StartTask(ctx context.Context, id string, logs LogDriver) (Started, error) {
	ctx = c.Context(ctx)
	ctr, task, err := c.createdTaskOf(ctx, id, logs)
	if err != nil {
		return Started{}, fmt.Errorf("start container %s: %w", id, err)
	}
	testHookBeforeStart(id)
	err = task.Start(ctx)
	if errdefs.IsNotFound(err) {
		// A created task found in containerd can vanish before its start: a
		// killed down's deletion of it goes on in containerd. Start a new one.
		task, err = c.prepareTask(ctx, ctr, logs)
		if err != nil {
			return Started{}, fmt.Errorf("start container %s: %w", id, err)
		}
		err = task.Start(ctx)
	}
	if err != nil {
		_, _ = task.Delete(ctx, containerd.WithProcessKill)
		return Started{}, fmt.Errorf("start container %s: %w", id, err)
	}
	info, _ := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	return Started{PID: task.Pid(), Labels: info.Labels}, nil
}

// testHookBeforeStart lets tests act between a task's lookup and its start.
var testHookBeforeStart = func(string) {}

// createdTaskOf returns the container with a created task waiting for its start:
// the one it has (takeCreated), else a new one in place of whatever task it had.
func (c *Client) createdTaskOf(ctx context.Context, id string, logs LogDriver) (containerd.Container, pendingTask, error) {
	ctr, task, err := c.takeCreated(ctx, id, logs)
	if err == nil && task == nil {
		task, err = c.prepareTask(ctx, ctr, logs)
	}
	return ctr, task, err
}

// takeCreated returns the container and, when it has one waiting to start,
// its created task: from CreateTask, made now for a container this client just
// created, or found in containerd.
func (c *Client) takeCreated(ctx context.Context, id string, logs LogDriver) (containerd.Container, pendingTask, error) {
	if v, ok := c.created.LoadAndDelete(id); ok {
		ct := v.(createdTask)
		return ct.ctr, ct.task, nil
	}
	if fc, ok := c.fresh(id); ok {
		task, err := c.newTaskOfFresh(ctx, fc, logs)
		return fc.ctr, task, err
	}
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return ctr, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if st, err := task.Status(ctx); err == nil && st.Status == containerd.Created {
		return ctr, task, nil
	}
	return ctr, nil, nil
}

// newTaskOfFresh creates the task of a container this client just created. It has
// no task to delete, its labels are the ones this client gave it and its root
// filesystem's mounts are known: the request goes straight to the task service,
// where containerd.Container.NewTask reads the container three times and asks the
// snapshotter for the mounts again (four round trips, each with the whole spec).
func (c *Client) newTaskOfFresh(ctx context.Context, fc freshContainer, logs LogDriver) (pendingTask, error) {
	if err := setRestartLogURI(ctx, fc.ctr, logs); err != nil {
		return nil, err
	}
	creator, err := logs.creator()
	if err != nil {
		return nil, err
	}
	pio, err := creator(fc.ctr.ID())
	if err != nil {
		return nil, err
	}
	cfg := pio.Config()
	req := &tasksapi.CreateTaskRequest{ContainerID: fc.ctr.ID(), Terminal: cfg.Terminal,
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr}
	for _, m := range fc.rootfs {
		req.Rootfs = append(req.Rootfs, &apitypes.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	resp, err := c.createTaskWithin(ctx, req)
	if err != nil {
		pio.Cancel()
		_ = pio.Close()
	}
	if isTaskDebris(err) {
		// what a killed berth left under the name: the client's path clears it
		return c.newTask(ctx, fc.ctr, creator)
	}
	if err != nil {
		return nil, err
	}
	return rawTask{tasks: c.client.TaskService(), id: fc.ctr.ID(), pid: resp.Pid}, nil
}

// createTaskWithin is one task creation through the task service, bounded as
// newTaskWithin bounds the client's.
func (c *Client) createTaskWithin(ctx context.Context, req *tasksapi.CreateTaskRequest) (*tasksapi.CreateTaskResponse, error) {
	tctx, cancel := context.WithTimeout(ctx, taskCreateTimeout)
	defer cancel()
	resp, err := c.client.TaskService().Create(tctx, req)
	err = errgrpc.ToNative(err)
	if err != nil && tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		return nil, fmt.Errorf("create task %s: %w (%v)", req.ContainerID, errTaskCreateHung, err)
	}
	return resp, err
}

// rawTask is a task created through the task service, waiting for its start.
type rawTask struct {
	tasks tasksapi.TasksClient
	id    string
	pid   uint32
}

func (t rawTask) Pid() uint32 { return t.pid }

func (t rawTask) Start(ctx context.Context) error {
	_, err := t.tasks.Start(ctx, &tasksapi.StartRequest{ContainerID: t.id})
	return errgrpc.ToNative(err)
}

// Delete kills the task's process, if it has one, and deletes the task.
func (t rawTask) Delete(ctx context.Context, _ ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error) {
	_, _ = t.tasks.Kill(ctx, &tasksapi.KillRequest{ContainerID: t.id, Signal: uint32(syscall.SIGKILL), All: true})
	_, err := t.tasks.Delete(ctx, &tasksapi.DeleteTaskRequest{ContainerID: t.id})
	return nil, errgrpc.ToNative(err)
}

// newTaskOf creates the container's task through the client, the container having
// no task (any more).
func (c *Client) newTaskOf(ctx context.Context, ctr containerd.Container, logs LogDriver) (containerd.Task, error) {
	if err := setRestartLogURI(ctx, ctr, logs); err != nil {
		return nil, err
	}
	creator, err := logs.creator()
	if err != nil {
		return nil, err
	}
	return c.newTask(ctx, ctr, creator)
}

// prepareTask replaces whatever task the container has with a new, created one.
func (c *Client) prepareTask(ctx context.Context, ctr containerd.Container, logs LogDriver) (containerd.Task, error) {
	if err := c.deleteTask(ctx, ctr); err != nil {
		return nil, err
	}
	return c.newTaskOf(ctx, ctr, logs)
}

// RestartLogLabel tells containerd's restart monitor where a restarted task logs;
// without it a restarted task logs nowhere.
const RestartLogLabel = "containerd.io/restart.loguri"

// RestartLogLabels are the labels a container needs for its task to be restarted
// with this log driver: set at creation, they save StartTask an update.
func (l LogDriver) RestartLogLabels() map[string]string {
	return map[string]string{RestartLogLabel: l.restartLogURI()}
}

// setRestartLogURI labels the container with the log driver's URI, unless it
// already has it.
func setRestartLogURI(ctx context.Context, ctr containerd.Container, logs LogDriver) error {
	uri := logs.restartLogURI()
	if info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata); err == nil && info.Labels[RestartLogLabel] == uri {
		return nil
	}
	_, err := ctr.SetLabels(ctx, map[string]string{RestartLogLabel: uri})
	return err
}

// newTask creates the container's task. When a killed berth left debris,
// containerd may still be finishing that berth's request: wait for it a
// little, deleting whatever task appears, and clear the debris by hand
// only when nothing moves.
func (c *Client) newTask(ctx context.Context, ctr containerd.Container, creator cio.Creator) (containerd.Task, error) {
	var err error
	cleared := false
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		var task containerd.Task
		task, err = newTaskWithin(ctx, ctr, creator)
		if !isTaskDebris(err) {
			return task, err
		}
		// a hung creation is cleared at once: each try of it costs the whole timeout
		if wait > 3*time.Second || errors.Is(err, errTaskCreateHung) {
			if cleared {
				return nil, err
			}
			// stuck for good: containerd keeps such entries until it
			// restarts; clearing them makes containerd clean up after the
			// dead shim too, so give that time before the last try
			c.clearTaskDebris(ctx, ctr.ID())
			cleared, wait = true, 500*time.Millisecond
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := c.deleteTask(ctx, ctr); err != nil {
			return nil, err
		}
	}
}

// taskCreateTimeout bounds one task creation. containerd 1.6 can leave a Create
// hanging for good when the client of an earlier Create of the same container was
// killed mid-way (seen right after a containerd restart): the deadline turns that
// into debris to clear, instead of an up that never returns.
const taskCreateTimeout = 45 * time.Second

// errTaskCreateHung is a task creation that outlived taskCreateTimeout.
var errTaskCreateHung = errors.New("containerd did not create the task in time")

func newTaskWithin(ctx context.Context, ctr containerd.Container, creator cio.Creator) (containerd.Task, error) {
	tctx, cancel := context.WithTimeout(ctx, taskCreateTimeout)
	defer cancel()
	task, err := ctr.NewTask(tctx, creator)
	if err != nil && tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		return nil, fmt.Errorf("create task %s: %w (%v)", ctr.ID(), errTaskCreateHung, err)
	}
	return task, err
}

// isTaskDebris recognises NewTask failures caused by what a killed client
// left behind: the task entry, the shim's bundle, runc's state.
func isTaskDebris(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return errdefs.IsAlreadyExists(err) || errors.Is(err, errTaskCreateHung) || strings.Contains(msg, "file exists") ||
		strings.Contains(msg, "container with given ID already exists") ||
		// the killed client's own creation, failing meanwhile, removed the bundle
		// directory this one's shim was to start in (containerd 1.6 reports the
		// missing working directory as a missing shim binary)
		strings.Contains(msg, "failed to start shim") && strings.Contains(msg, "no such file or directory")
}

// runcState is where the runc shim keeps runc's state, whatever
// containerd's --state (PLATFORM.md).
const runcState = "/run/containerd/runc"

// runtimeState is where containerd 1.6 to 2.x keep task bundles, under
// their default --state.
const runtimeState = "/run/containerd/io.containerd.runtime.v2.task"

// clearTaskDebris removes what a client killed while creating a task can
// leave: a task entry that lookups do not find but creation trips over, or
// a bundle directory with the rootfs still mounted (PLATFORM.md). It runs
// only after containerd refused a new task, or for a task whose container is
// gone, so nothing live is touched.
func (c *Client) clearTaskDebris(ctx context.Context, id string) {
	_, err := c.client.TaskService().Delete(ctx, &tasksapi.DeleteTaskRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); err == nil || !errdefs.IsNotFound(err) {
		return
	}
	bundle := filepath.Join(runtimeState, c.namespace, id)
	// containerd 1.6 writes no shim.pid: the shim is found by its command line
	for _, pid := range shimsOf(c.namespace, id) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Unmount(filepath.Join(bundle, "rootfs"), syscall.MNT_DETACH)
	_ = os.RemoveAll(bundle)
	runc := filepath.Join(runcState, c.namespace, id)
	if b, err := os.ReadFile(filepath.Join(runc, "state.json")); err == nil {
		var st struct {
			Pid int `json:"init_process_pid"`
		}
		if json.Unmarshal(b, &st) == nil && st.Pid > 1 && inContainerCgroup(st.Pid, c.namespace, id) {
			_ = syscall.Kill(st.Pid, syscall.SIGKILL)
		}
	}
	_ = os.RemoveAll(runc)
}

// ClearOrphanTasks removes the tasks named with prefix whose container is gone. A creation
// containerd was still carrying out for a killed berth can register its task
// after the container was deleted; containerd's task service cannot delete a
// task without its container, so its shim and process would stay for good.
// Tasks of other prefixes (other projects) are left to their own down: asking
// containerd whether their containers exist would bring every one's spec.
func (c *Client) ClearOrphanTasks(ctx context.Context, prefix string) error {
	ctx = c.Context(ctx)
	resp, err := c.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		return fmt.Errorf("list tasks: %w", errgrpc.ToNative(err))
	}
	var filters []string
	for _, t := range resp.Tasks {
		if strings.HasPrefix(t.ID, prefix) {
			filters = append(filters, "id=="+t.ID)
		}
	}
	if len(filters) == 0 {
		return nil
	}
	// one request for all (a filter list matches any of its filters); after a
	// down it names the orphans alone, the project's containers being gone
	ctrs, err := c.client.ContainerService().List(ctx, filters...)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	exists := map[string]bool{}
	for _, ctr := range ctrs {
		exists[ctr.ID] = true
	}
	for _, t := range resp.Tasks {
		if strings.HasPrefix(t.ID, prefix) && !exists[t.ID] {
			c.clearTaskDebris(ctx, t.ID)
		}
	}
	return nil
}

// shimsOf returns the pids of the containerd shims started for the task id of
// the namespace (a shim's cgroup is containerd's, so its command line tells).
func shimsOf(namespace, id string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && isShimOf(strings.Split(string(b), "\x00"), namespace, id) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// isShimOf reports whether argv is a containerd shim's serving the task id
// of the namespace.
func isShimOf(argv []string, namespace, id string) bool {
	if len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), "containerd-shim") {
		return false
	}
	return id != "" && flagValue(argv[1:], "-namespace") == namespace && flagValue(argv[1:], "-id") == id
}

// flagValue is the value following the flag name in args, or "".
func flagValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// inContainerCgroup checks that pid still is the container's process and
// not a reuse of its number.
func inContainerCgroup(pid int, namespace, id string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return err == nil && strings.Contains(string(b), "/"+namespace+"/"+id)
}

func stopProcess(ctx context.Context, task containerd.Task, stopSignal string, timeout time.Duration) error {
	st, err := task.Status(ctx)
	if err != nil {
		return err
	}
	if st.Status == containerd.Stopped || st.Status == containerd.Created {
		return nil
	}
	if st.Status == containerd.Paused {
		// a paused process cannot handle its signal
		_ = task.Resume(ctx)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	sig, err := parseSignal(stopSignal)
	if err != nil {
		return err
	}
	if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGTERM, nil
	}
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return 0, fmt.Errorf("invalid stop signal %q: %w", s, err)
	}
	return sig, nil
}

// Kill sends sig to the container's process.
func (c *Client) Kill(ctx context.Context, id, sig string) error {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err != nil {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	s, err := parseSignal(sig)
	if err != nil {
		return err
	}
	if err := task.Kill(ctx, s); err != nil {
		return fmt.Errorf("kill container %s: %w", id, err)
	}
	return nil
}

func (c *Client) task(ctx context.Context, id string) (containerd.Task, error) {
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, err
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil, errNoTask
	}
	return task, err
}

// ExecSpec is a process to run in a running container.
type ExecSpec struct {
	Args   []string
	Env    []string // added to the container's environment
	User   string
	Cwd    string
	Tty    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Privileged gives the process every capability and no AppArmor
	// profile, as docker exec --privileged does; the container's seccomp
	// filter still applies.
	Privileged bool
}

var execSeq struct {
	sync.Mutex
	n int
}

// Exec runs a process in the container and returns its exit code.
func (c *Client) Exec(ctx context.Context, id string, spec ExecSpec) (int, error) {
	ctx = c.Context(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: container is not running", id)
	}
	pspec, err := c.execProcess(ctx, ctr, spec)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	stdin := &eofCloser{r: spec.Stdin}
	ioOpts := []cio.Opt{cio.WithStreams(stdin.reader(), spec.Stdout, spec.Stderr)}
	if spec.Tty {
		ioOpts = append(ioOpts, cio.WithTerminal)
	}
	process, err := task.Exec(ctx, execID(), pspec, cio.NewCreator(ioOpts...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	stdin.set(func() { _ = process.CloseIO(ctx, containerd.WithStdinCloser) })
	defer process.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	exited, err := process.Wait(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	if err := process.Start(ctx); err != nil {
		return -1, fmt.Errorf("exec in %s: %s: %w", id, spec.Args[0], err)
	}
	select {
	case st := <-exited:
		process.IO().Wait()
		return int(st.ExitCode()), st.Error()
	case <-ctx.Done():
		_ = process.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return -1, ctx.Err()
	}
}

func execID() string {
	execSeq.Lock()
	defer execSeq.Unlock()
	execSeq.n++
	return fmt.Sprintf("berth-exec-%d-%d", os.Getpid(), execSeq.n)
}

// execProcess derives the exec's process from the container's own, so it
// has the container's environment, capabilities and user by default.
func (c *Client) execProcess(ctx context.Context, ctr containerd.Container, spec ExecSpec) (*specs.Process, error) {
	s, err := ctr.Spec(ctx)
	if err != nil {
		return nil, err
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return nil, err
	}
	s.Process.Args = spec.Args
	s.Process.Terminal = spec.Tty
	s.Process.Env = append(s.Process.Env, spec.Env...)
	if spec.Cwd != "" {
		s.Process.Cwd = spec.Cwd
	}
	if spec.User != "" {
		if err := oci.WithUser(spec.User)(ctx, c.client, &info, s); err != nil {
			return nil, err
		}
	}
	if spec.Privileged {
		if err := oci.WithAllCurrentCapabilities(ctx, c.client, &info, s); err != nil {
			return nil, err
		}
		s.Process.ApparmorProfile = ""
	}
	return s.Process, nil
}

// Wait blocks until the container's task exits and returns its exit code.
func (c *Client) Wait(ctx context.Context, id string) (int, error) {
	ctx = c.Context(ctx)
	task, err := c.task(ctx, id)
	if err != nil {
		return -1, fmt.Errorf("wait for %s: %w", id, err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return -1, fmt.Errorf("wait for %s: %w", id, err)
	}
	select {
	case st := <-exited:
		return int(st.ExitCode()), nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// WithRootfs mounts the container's snapshot read-only in a temporary
// directory while fn runs: new volumes are seeded from it.
func (c *Client) WithRootfs(ctx context.Context, id string, fn func(root string) error) error {
	ctx = c.Context(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", id, err)
	}
	info, err := ctr.Info(ctx)
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", id, err)
	}
	mounts, err := c.client.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", id, err)
	}
	return mount.WithReadonlyTempMount(ctx, mounts, fn)
}

// SetLabels merges labels into the container's.
func (c *Client) SetLabels(ctx context.Context, id string, labels map[string]string) error {
	ctx = c.Context(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("label container %s: %w", id, err)
	}
	if _, err := ctr.SetLabels(ctx, labels); err != nil {
		return fmt.Errorf("label container %s: %w", id, err)
	}
	return nil
}

// IsNotFound reports whether err says that a container, task or image does
// not exist.
func IsNotFound(err error) bool {
	return errdefs.IsNotFound(err) || errors.Is(err, errNoTask)
}

// Mounts returns the mounts of the container's spec (for volumes_from).
func (c *Client) Mounts(ctx context.Context, id string) ([]specs.Mount, error) {
	ctx = c.Context(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read mounts of %s: %w", id, err)
	}
	s, err := ctr.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("read mounts of %s: %w", id, err)
	}
	return s.Mounts, nil
}

// Streams are a foreground process's standard streams.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Tty    bool
}

// RunTask starts the container's process attached to streams, waits for it
// and deletes the task; it returns the exit code. Cancelling ctx kills the
// process, as Ctrl-C on `run` does.
func (c *Client) RunTask(ctx context.Context, id string, s Streams) (int, error) {
	ctx = c.Context(ctx)
	ctr, err := c.client.LoadContainer(ctx, id)
	if err != nil {
		return -1, fmt.Errorf("run container %s: %w", id, err)
	}
	stdin := &eofCloser{r: s.Stdin}
	opts := []cio.Opt{cio.WithStreams(stdin.reader(), s.Stdout, s.Stderr)}
	if s.Tty {
		opts = append(opts, cio.WithTerminal)
	}
	task, err := ctr.NewTask(ctx, cio.NewCreator(opts...))
	if err != nil {
		return -1, fmt.Errorf("run container %s: %w", id, err)
	}
	stdin.set(func() { _ = task.CloseIO(ctx, containerd.WithStdinCloser) })
	cleanup := context.WithoutCancel(ctx)
	defer task.Delete(cleanup, containerd.WithProcessKill)
	// waits on a context that Ctrl-C does not cancel, to see the exit after the kill
	exited, err := task.Wait(cleanup)
	if err != nil {
		return -1, fmt.Errorf("run container %s: %w", id, err)
	}
	if err := task.Start(ctx); err != nil {
		return -1, fmt.Errorf("run container %s: %w", id, err)
	}
	select {
	case st := <-exited:
		task.IO().Wait()
		return int(st.ExitCode()), nil
	case <-ctx.Done():
		_ = task.Kill(cleanup, syscall.SIGKILL)
		<-exited
		return 130, ctx.Err()
	}
}

// eofCloser passes stdin through and, at its end, closes the process's
// stdin: containerd's copy does not, so `echo x | berth run -T svc cat`
// would wait forever.
type eofCloser struct {
	r     io.Reader
	mu    sync.Mutex
	close func()
	eof   bool
}

func (e *eofCloser) reader() io.Reader {
	if e.r == nil {
		return nil
	}
	return e
}

func (e *eofCloser) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.mu.Lock()
		e.eof = true
		if e.close != nil {
			e.close()
		}
		e.mu.Unlock()
	}
	return n, err
}

// set registers the close once the process exists; an EOF seen before
// closes at once.
func (e *eofCloser) set(close func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.close = close
	if e.eof {
		close()
	}
}
