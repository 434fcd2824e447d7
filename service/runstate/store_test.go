package runstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/observed"
)

// fakeProcesses answers start times by PID; a PID it does not know has exited.
type fakeProcesses map[uint32]time.Time

func (f fakeProcesses) StartedAt(pid uint32, _ time.Time) (time.Time, error) {
	if t, ok := f[pid]; ok {
		return t, nil
	}
	return time.Time{}, errors.New("no such process")
}

// FromInfo takes a running container's start time from its process, whatever
// the state file or an old berth's labels say, and its stop mark from the state
// file, or from the labels of a container no berth since has started.
func TestFromInfoStartedAt(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	legacy := map[string]string{"berth.started-at": t0.Format(time.RFC3339Nano), "berth.stopping": "true"}
	tests := []struct {
		name         string
		status       string
		pid          uint32
		labels       map[string]string
		state        *State
		wantStarted  time.Time
		wantStopping bool
	}{
		{name: "running: its process", status: ctrd.TaskRunning, pid: 7, wantStarted: t0.Add(time.Hour)},
		{name: "running, old state file: its process", status: ctrd.TaskRunning, pid: 7, state: &State{StartedAt: t0}, wantStarted: t0.Add(time.Hour)},
		{name: "paused: its process", status: ctrd.TaskPaused, pid: 7, wantStarted: t0.Add(time.Hour)},
		{name: "process gone: the state file", status: ctrd.TaskRunning, pid: 8, state: &State{StartedAt: t0, Stopping: true}, wantStarted: t0, wantStopping: true},
		{name: "stopped: the state file", status: ctrd.TaskStopped, pid: 7, state: &State{StartedAt: t0}, wantStarted: t0},
		{name: "stopped, no file: old labels", status: ctrd.TaskStopped, labels: legacy, wantStarted: t0, wantStopping: true},
		{name: "restarted since old labels: stop lifted", status: ctrd.TaskRunning, pid: 7, labels: legacy, wantStarted: t0.Add(time.Hour)},
		{name: "state file beats old labels", status: ctrd.TaskStopped, labels: legacy, state: &State{}, wantStarted: time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{DataRoot: t.TempDir(), Processes: fakeProcesses{7: t0.Add(time.Hour)}}
			if tt.state != nil {
				b, _ := json.Marshal(tt.state)
				if err := os.MkdirAll(s.ContainerDir("c1"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(s.stateFile("c1"), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			labels := map[string]string{"com.docker.compose.container-number": "1"}
			for k, v := range tt.labels {
				labels[k] = v
			}
			c := s.FromInfo(ctrd.ContainerInfo{ID: "c1", Labels: labels, Status: tt.status, PID: tt.pid})
			if !c.StartedAt.Equal(tt.wantStarted) || c.Stopping != tt.wantStopping {
				t.Errorf("started %v stopping %v, want %v %v", c.StartedAt, c.Stopping, tt.wantStarted, tt.wantStopping)
			}
		})
	}
}

// UpdateState writes only what changes: a fresh container's start does not write
// the "not stopping" it already is.
func TestUpdateStateWritesChanges(t *testing.T) {
	s := Store{DataRoot: t.TempDir()}
	if err := s.UpdateState("c1", func(st *State) { st.Stopping = false }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.stateFile("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unchanged state written: %v", err)
	}
	if err := s.UpdateState("c1", func(st *State) { st.Stopping = true }); err != nil {
		t.Fatal(err)
	}
	if got := s.ReadState("c1"); !got.Stopping {
		t.Fatalf("state %+v, want stopping", got)
	}
}

// byID answers Container from a fixed set of containers.
type byID map[string]ctrd.ContainerInfo

func (f byID) ListContainers(context.Context, map[string]string) ([]ctrd.ContainerInfo, error) {
	return nil, errors.New("a lookup by name must not list")
}

func (f byID) Container(_ context.Context, id string) (ctrd.ContainerInfo, error) {
	if info, ok := f[id]; ok {
		return info, nil
	}
	return ctrd.ContainerInfo{}, fmt.Errorf("%w: %s", ctrd.ErrContainerNotFound, id)
}

// Container finds berth's containers by name, and only them.
func TestStoreContainer(t *testing.T) {
	rt := byID{
		"p-web-1":  {ID: "p-web-1", Labels: map[string]string{record.LabelName: "p-web-1"}, Status: ctrd.TaskStopped},
		"stranger": {ID: "stranger", Labels: map[string]string{"owner": "someone else"}},
	}
	s := Store{DataRoot: t.TempDir(), Runtime: rt}
	for _, tt := range []struct {
		name  string
		found bool
	}{{"p-web-1", true}, {"stranger", false}, {"p-gone-1", false}} {
		c, found, err := s.Container(t.Context(), tt.name)
		if err != nil || found != tt.found || (found && (c.Name != tt.name || c.State != observed.StateExited)) {
			t.Errorf("Container(%q) = %+v, %v, %v; want found %v", tt.name, c, found, err, tt.found)
		}
	}
	failing := Store{DataRoot: t.TempDir(), Runtime: failingLister{}}
	if _, _, err := failing.Container(t.Context(), "p-web-1"); err == nil {
		t.Error("a failing runtime's error was dropped")
	}
}

type failingLister struct{ byID }

func (failingLister) Container(context.Context, string) (ctrd.ContainerInfo, error) {
	return ctrd.ContainerInfo{}, errors.New("containerd is down")
}
