package ctrd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/testenv"
)

// taskClient is a client with a busybox image loaded, and the image's name.
func taskClient(t *testing.T) (*ctrd.Client, string) {
	t.Helper()
	c := newClient(t)
	img := testenv.BusyboxImage(t)
	names := loadFile(t, c, testenv.WriteDockerArchive(t, img, "berth/tasks:v1"), nil)
	return c, names[0]
}

func sleeper(id, image string) ctrd.ContainerSpec {
	return ctrd.ContainerSpec{ID: id, Image: image, Args: []string{"sleep", "60"}, Hostname: id, NetNSPath: "host",
		Labels: map[string]string{"test": "tasks"}}
}

// status is the container's task status as ListContainers reports it, and its pid.
func status(t *testing.T, c *ctrd.Client, id string) (string, uint32) {
	t.Helper()
	infos, err := c.ListContainers(t.Context(), map[string]string{"test": "tasks"})
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.ID == id {
			return info.Status, info.PID
		}
	}
	t.Fatalf("container %s not listed", id)
	return "", 0
}

// A task created ahead waits, created, until StartTask starts it: in the same client,
// or in another one (the next berth, when the one that created it was killed).
func TestCreateTaskThenStart(t *testing.T) {
	c, image := taskClient(t)
	logs := ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}
	for _, tc := range []struct {
		id      string
		starter func() *ctrd.Client
	}{
		{"same-client", func() *ctrd.Client { return c }},
		{"next-client", func() *ctrd.Client { return connectAgain(t, c) }},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if err := c.CreateContainer(t.Context(), sleeper(tc.id, image)); err != nil {
				t.Fatal(err)
			}
			if err := c.CreateTask(t.Context(), tc.id, logs); err != nil {
				t.Fatal(err)
			}
			got, pid := status(t, c, tc.id)
			if got != ctrd.TaskCreated {
				t.Fatalf("after CreateTask: %s, want %s", got, ctrd.TaskCreated)
			}
			started, err := tc.starter().StartTask(t.Context(), tc.id, logs)
			if err != nil {
				t.Fatal(err)
			}
			// the very task created ahead, not a new one
			if started.PID != pid || started.Labels["test"] != "tasks" {
				t.Errorf("started %+v: want pid %d and the container's labels", started, pid)
			}
			if got, _ := status(t, c, tc.id); got != ctrd.TaskRunning {
				t.Fatalf("after StartTask: %s, want %s", got, ctrd.TaskRunning)
			}
			if err := c.DeleteContainer(t.Context(), tc.id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A created task found by the next berth can be gone by its start: a killed
// down's deletion of it goes on in containerd. StartTask then starts a new one.
func TestStartTaskDeletedUnderfoot(t *testing.T) {
	c, image := taskClient(t)
	logs := ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}
	if err := c.CreateContainer(t.Context(), sleeper("underfoot", image)); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTask(t.Context(), "underfoot", logs); err != nil {
		t.Fatal(err)
	}
	_, pid := status(t, c, "underfoot")
	raw := rawClient(t, c)
	ctx := namespaces.WithNamespace(t.Context(), c.Namespace())
	deleted := false
	defer ctrd.SetBeforeStart(func(id string) {
		if deleted {
			return
		}
		deleted = true
		ctr, err := raw.LoadContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
			t.Fatal(err)
		}
	})()
	started, err := connectAgain(t, c).StartTask(t.Context(), "underfoot", logs)
	if err != nil {
		t.Fatal(err)
	}
	if !deleted || started.PID == pid {
		t.Errorf("deleted %v, started pid %d (the deleted task's was %d)", deleted, started.PID, pid)
	}
	if got, _ := status(t, c, "underfoot"); got != ctrd.TaskRunning {
		t.Errorf("after StartTask: %s, want %s", got, ctrd.TaskRunning)
	}
	if err := c.DeleteContainer(t.Context(), "underfoot"); err != nil {
		t.Fatal(err)
	}
}

// A task whose container record is gone (a creation containerd finished
// after a killed berth's container was deleted) is cleared with its shim and
// process; tasks of existing containers, and tasks of another
// prefix, stay.
func TestClearOrphanTasks(t *testing.T) {
	c, image := taskClient(t)
	logs := ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}
	for _, id := range []string{"orphan", "kept", "listed"} {
		if err := c.CreateContainer(t.Context(), sleeper(id, image)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.StartTask(t.Context(), id, logs); err != nil {
			t.Fatal(err)
		}
	}
	_, pid := status(t, c, "orphan")
	raw := rawClient(t, c)
	ctx := namespaces.WithNamespace(t.Context(), c.Namespace())
	if err := raw.ContainerService().Delete(ctx, "orphan"); err != nil {
		t.Fatal(err)
	}
	// another project's prefix leaves it to that project's down
	if err := c.ClearOrphanTasks(t.Context(), "other-"); err != nil {
		t.Fatal(err)
	}
	if got, _ := raw.TaskService().List(ctx, &tasksapi.ListTasksRequest{}); len(got.Tasks) != 3 {
		t.Fatalf("another prefix cleared tasks: %v", got.Tasks)
	}
	if err := c.ClearOrphanTasks(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := raw.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, task := range resp.Tasks {
			ids = append(ids, task.ID)
		}
		slices.Sort(ids)
		if slices.Equal(ids, []string{"kept", "listed"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks %v, want kept and listed", ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// killed, the process may take a moment to exit
	for syscall.Kill(int(pid), 0) == nil {
		if time.Now().After(deadline) {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Fatalf("the orphan's process still runs: %s", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if shims := ctrd.ShimsOf(c.Namespace(), "orphan"); len(shims) > 0 {
		t.Errorf("the orphan's shim still runs: %v", shims)
	}
	if _, err := os.Stat(filepath.Join("/run/containerd/io.containerd.runtime.v2.task", c.Namespace(), "orphan")); !os.IsNotExist(err) {
		t.Errorf("the orphan's bundle: %v", err)
	}
	for _, id := range []string{"kept", "listed"} {
		if err := c.DeleteContainer(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
}

// A created task that is never started goes with its container.
func TestDeleteContainerWithCreatedTask(t *testing.T) {
	c, image := taskClient(t)
	if err := c.CreateContainer(t.Context(), sleeper("unstarted", image)); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTask(t.Context(), "unstarted", ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}); err != nil {
		t.Fatal(err)
	}
	if err := c.StopContainer(t.Context(), "unstarted", "SIGTERM", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContainer(t.Context(), "unstarted"); err != nil {
		t.Fatal(err)
	}
	infos, err := c.ListContainers(t.Context(), nil)
	if err != nil || len(infos) != 0 {
		t.Fatalf("left %+v (%v)", infos, err)
	}
}

// What a berth killed half-way through a creation leaves under the name (the
// container record, or a snapshot without its container) does not stop the next
// creation: CreateContainer clears it and creates.
func TestCreateContainerClearsDebris(t *testing.T) {
	c, image := taskClient(t)
	raw := rawClient(t, c)
	ctx := namespaces.WithNamespace(t.Context(), c.Namespace())
	for _, tc := range []struct {
		name   string
		debris func(id string)
	}{
		{"container", func(string) {}},
		{"snapshot", func(id string) {
			if err := raw.ContainerService().Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "debris-" + tc.name
			if err := c.CreateContainer(t.Context(), sleeper(id, image)); err != nil {
				t.Fatal(err)
			}
			tc.debris(id)
			again := connectAgain(t, c)
			if err := again.CreateContainer(t.Context(), sleeper(id, image)); err != nil {
				t.Fatalf("create over %s debris: %v", tc.name, err)
			}
			if err := again.CreateTask(t.Context(), id, ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}); err != nil {
				t.Fatal(err)
			}
			if err := again.DeleteContainer(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An up's lease holds what it prepares; a lease a killed up left under the name
// is replaced, and releasing a missing one is no error.
func TestCreateLease(t *testing.T) {
	c, image := taskClient(t)
	raw := rawClient(t, c)
	ctx := namespaces.WithNamespace(t.Context(), c.Namespace())
	lctx, release, err := c.CreateLease(t.Context(), "berth-up-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateContainer(lctx, sleeper("leased", image)); err != nil {
		t.Fatal(err)
	}
	// killed: never released; the next one takes the name over
	_, release2, err := c.CreateLease(t.Context(), "berth-up-test")
	if err != nil {
		t.Fatalf("second lease over a stale one: %v", err)
	}
	release2()
	release()
	ls, err := raw.LeasesService().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
	if err := c.ReleaseLease(t.Context(), "berth-up-test"); err != nil {
		t.Errorf("release of a missing lease: %v", err)
	}
	if err := c.DeleteContainer(t.Context(), "leased"); err != nil {
		t.Fatal(err)
	}
}

func connectAgain(t *testing.T, c *ctrd.Client) *ctrd.Client {
	t.Helper()
	again, err := ctrd.Connect(t.Context(), ctrd.Options{Address: testenv.ContainerdAddress(), Namespace: c.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close() })
	return again
}

func rawClient(t *testing.T, c *ctrd.Client) *containerd.Client {
	t.Helper()
	raw, err := containerd.New(testenv.ContainerdAddress(), containerd.WithDefaultNamespace(c.Namespace()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// A subscription gets each event berth names, in order, and nothing else
// (containerd's other topics are filtered out at the source).
func TestSubscribeEvents(t *testing.T) {
	c, image := taskClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events, errs := c.Subscribe(ctx)
	logs := ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}
	steps := []func() error{
		func() error { return c.CreateContainer(t.Context(), sleeper("events", image)) },
		func() error { _, err := c.StartTask(t.Context(), "events", logs); return err },
		func() error { return c.Pause(t.Context(), "events") },
		func() error { return c.Resume(t.Context(), "events") },
		func() error {
			_, err := c.Exec(t.Context(), "events", ctrd.ExecSpec{Args: []string{"true"}, Stdout: io.Discard, Stderr: io.Discard})
			return err
		},
		func() error { return c.StopContainer(t.Context(), "events", "SIGKILL", time.Second) },
		func() error { return c.DeleteContainer(t.Context(), "events") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"create", "start", "pause", "unpause", "exec_create", "exec_start", "exec_die", "die", "destroy"}
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < len(want) {
		select {
		case e := <-events:
			if e.ContainerID != "events" {
				t.Errorf("event of another container: %+v", e)
			}
			got = append(got, e.Action)
		case err := <-errs:
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("events %q, want %q", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// Container reports one container as ListContainers does, at each stage of its
// life, and ErrContainerNotFound once it is gone.
func TestContainerMatchesList(t *testing.T) {
	c, image := taskClient(t)
	const id = "lookup"
	logs := ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}
	same := func(stage, wantStatus string) {
		t.Helper()
		got, err := c.Container(t.Context(), id)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		infos, err := c.ListContainers(t.Context(), map[string]string{"test": "tasks"})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(infos, func(info ctrd.ContainerInfo) bool { return info.ID == id })
		if i < 0 {
			t.Fatalf("%s: %s not listed", stage, id)
		}
		if !reflect.DeepEqual(got, infos[i]) {
			t.Errorf("%s: Container = %+v, listed %+v", stage, got, infos[i])
		}
		if got.Status != wantStatus {
			t.Errorf("%s: status %s, want %s", stage, got.Status, wantStatus)
		}
	}
	if err := c.CreateContainer(t.Context(), sleeper(id, image)); err != nil {
		t.Fatal(err)
	}
	same("created", ctrd.TaskNone)
	if _, err := c.StartTask(t.Context(), id, logs); err != nil {
		t.Fatal(err)
	}
	same("started", ctrd.TaskRunning)
	if err := c.StopContainer(t.Context(), id, "SIGKILL", time.Second); err != nil {
		t.Fatal(err)
	}
	same("stopped", ctrd.TaskStopped)
	if err := c.DeleteContainer(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Container(t.Context(), id); !errors.Is(err, ctrd.ErrContainerNotFound) {
		t.Errorf("after delete: %v, want ErrContainerNotFound", err)
	}
	if infos, err := c.ListContainers(t.Context(), map[string]string{"test": "tasks"}); err != nil || infos == nil || len(infos) != 0 {
		t.Errorf("list after delete: %v, %v; want an empty list", infos, err)
	}
}

// A shim that does not answer (stopped here) makes Container report the container
// without a task, as a list leaves such a task out, not fail: down and the helper
// look containers up one by one.
func TestContainerWithUnresponsiveShim(t *testing.T) {
	c, image := taskClient(t)
	const id = "frozen-shim"
	if err := c.CreateContainer(t.Context(), sleeper(id, image)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteContainer(context.WithoutCancel(t.Context()), id) })
	if _, err := c.StartTask(t.Context(), id, ctrd.LogDriver{File: filepath.Join(t.TempDir(), "log")}); err != nil {
		t.Fatal(err)
	}
	shims := ctrd.ShimsOf(c.Namespace(), id)
	if len(shims) == 0 {
		t.Fatal("no shim found for the task")
	}
	for _, pid := range shims {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	info, err := c.Container(ctx, id)
	if err != nil {
		t.Fatalf("Container with a stopped shim: %v", err)
	}
	if info.ID != id || info.Status != ctrd.TaskNone {
		t.Errorf("Container = %+v, want %s without a task", info, id)
	}
	for _, pid := range shims {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	if got, _ := status(t, c, id); got != ctrd.TaskRunning {
		t.Errorf("after the shim went on: %s, want running", got)
	}
}
