package supervise

import (
	"context"
	"os"
	"testing"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/service/runstate"
)

// startRecorder records the tasks started through it.
type startRecorder struct {
	Execer
	started map[string]ctrd.LogDriver
}

func (r *startRecorder) StartTask(_ context.Context, id string, l ctrd.LogDriver) (ctrd.Started, error) {
	r.started[id] = l
	return ctrd.Started{PID: 1}, nil
}

func (r *startRecorder) Subscribe(context.Context) (<-chan ctrd.Event, <-chan error) {
	return nil, nil
}

// A restart by the helper logs as the container's creation chose: the rotation in its
// state directory, or the default without one.
func TestStoreHostLaunchKeepsRotation(t *testing.T) {
	store := runstate.Store{DataRoot: t.TempDir(), Logger: "/usr/lib/berth/berth-logger"}
	rt := &startRecorder{started: map[string]ctrd.LogDriver{}}
	h := StoreHost{Store: store, Runtime: rt}
	if err := os.MkdirAll(store.ContainerDir("p-rotated-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store.RotationFile("p-rotated-1"), []byte(`{"MaxSize":1000,"MaxFiles":2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"p-rotated-1", "p-plain-1"} {
		if err := h.Launch(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	if got := rt.started["p-rotated-1"]; got.Binary != store.Logger || got.Args[logs.ArgMaxSize] != "1000" || got.Args[logs.ArgMaxFile] != "2" {
		t.Errorf("rotated: started with %+v", got)
	}
	def := runstate.DefaultRotation()
	want := logs.LoggerArgs(store.LogPath("p-plain-1"), def)
	got := rt.started["p-plain-1"]
	if len(got.Args) != len(want) || got.Args[logs.ArgMaxSize] != want[logs.ArgMaxSize] || got.Args[logs.ArgPath] != want[logs.ArgPath] {
		t.Errorf("plain: started with %v, want %v", got.Args, want)
	}
}
