package service

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/volumes"
)

// lifecycleFake is a runtime that records what the lifecycle commands ask.
type lifecycleFake struct {
	Runtime
	mu         sync.Mutex
	infos      []ctrd.ContainerInfo
	calls      []string
	labels     map[string]map[string]string
	stopSignal string
	stopGrace  time.Duration
}

func (f *lifecycleFake) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *lifecycleFake) ListContainers(context.Context, map[string]string) ([]ctrd.ContainerInfo, error) {
	return f.infos, nil
}

func (f *lifecycleFake) Container(_ context.Context, id string) (ctrd.ContainerInfo, error) {
	for _, info := range f.infos {
		if info.ID == id {
			return info, nil
		}
	}
	return ctrd.ContainerInfo{}, ctrd.ErrContainerNotFound
}

func (f *lifecycleFake) SetLabels(_ context.Context, id string, labels map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.labels == nil {
		f.labels = map[string]map[string]string{}
	}
	f.labels[id] = labels
	return nil
}

func (f *lifecycleFake) StopContainer(_ context.Context, id, sig string, grace time.Duration) error {
	f.record("stop " + id)
	f.stopSignal, f.stopGrace = sig, grace
	return nil
}

func (f *lifecycleFake) DeleteContainer(_ context.Context, id string) error {
	f.record("delete " + id)
	return nil
}

func (f *lifecycleFake) Kill(_ context.Context, id, sig string) error {
	f.record("kill " + id + " " + sig)
	return nil
}

func (f *lifecycleFake) Pause(context.Context, string) error { return nil }
func (f *lifecycleFake) Resume(_ context.Context, id string) error {
	f.record("resume " + id)
	return nil
}
func (f *lifecycleFake) Pids(context.Context, string) ([]uint32, error) { return nil, nil }
func (f *lifecycleFake) Metrics(context.Context, string) (ctrd.Metrics, error) {
	return ctrd.Metrics{}, nil
}
func (f *lifecycleFake) Subscribe(context.Context) (<-chan ctrd.Event, <-chan error) {
	return nil, nil
}

type detachRecorder struct {
	Networks
	mu       sync.Mutex
	detached []network.AttachRequest
}

func (n *detachRecorder) NetNSPath(id string) string { return "/run/berth/netns/" + id }

func (n *detachRecorder) Detach(_ context.Context, _ string, req network.AttachRequest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.detached = append(n.detached, req)
	return nil
}

func fakeEngine(t *testing.T, infos ...ctrd.ContainerInfo) (*Engine, *lifecycleFake, *detachRecorder) {
	rt := &lifecycleFake{infos: infos}
	nets := &detachRecorder{}
	root := t.TempDir()
	return &Engine{Runtime: rt, Networks: nets, Volumes: volumes.NewManager(root), DataRoot: root, Namespace: "test"}, rt, nets
}

func info(name, service, status string, labels map[string]string) ctrd.ContainerInfo {
	l := map[string]string{
		"com.docker.compose.project": "p", "com.docker.compose.service": service,
		"com.docker.compose.container-number": "1", "berth.container-name": name,
	}
	for k, v := range labels {
		l[k] = v
	}
	return ctrd.ContainerInfo{ID: name, Labels: l, Status: status}
}

func TestLifecycleStopUsesStopSignalAndGracePeriod(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskRunning,
		map[string]string{record.LabelStopSignal: "SIGQUIT", record.LabelStopGrace: "3s"}))
	if _, err := eng.Stop(t.Context(), "p", LifecycleRequest{}); err != nil {
		t.Fatal(err)
	}
	if rt.stopSignal != "SIGQUIT" || rt.stopGrace != 3*time.Second {
		t.Errorf("stopped with %q after %v, want SIGQUIT after 3s", rt.stopSignal, rt.stopGrace)
	}
	if !eng.readState("p-web-1").Stopping {
		t.Errorf("container not marked as stopping")
	}
	d := time.Second
	if _, err := eng.Stop(t.Context(), "p", LifecycleRequest{Timeout: &d}); err != nil || rt.stopGrace != time.Second {
		t.Errorf("-t 1: grace %v, err %v", rt.stopGrace, err)
	}
}

func TestLifecycleRemoveReleasesNetworkAttachment(t *testing.T) {
	eng, rt, nets := fakeEngine(t, info("p-web-1", "web", ctrd.TaskStopped,
		map[string]string{record.LabelNetNS: "/run/berth/netns/p-web-1", record.LabelNetworks: "p_default,p_back"}))
	var asked []string
	_, err := eng.Remove(t.Context(), "p", LifecycleRequest{}, func(names []string) (bool, error) {
		asked = names
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "p-web-1" {
		t.Errorf("confirmation asked for %v", asked)
	}
	if len(nets.detached) != 1 || nets.detached[0].ContainerID != "p-web-1" {
		t.Errorf("network attachment not released: %+v", nets.detached)
	}
	if !strings.Contains(strings.Join(rt.calls, ";"), "delete p-web-1") {
		t.Errorf("container not deleted: %v", rt.calls)
	}
}

func TestLifecycleRemoveDeclinedChangesNothing(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskStopped, nil))
	pl, err := eng.Remove(t.Context(), "p", LifecycleRequest{}, func([]string) (bool, error) { return false, nil })
	if err != nil || pl != nil || len(rt.calls) > 0 {
		t.Errorf("declined rm: pl %v, err %v, calls %v", pl, err, rt.calls)
	}
}

func TestLifecycleKillResumesPausedOnSIGKILL(t *testing.T) {
	eng, rt, _ := fakeEngine(t, info("p-web-1", "web", ctrd.TaskPaused, nil), info("p-db-1", "db", ctrd.TaskStopped, nil))
	if _, err := eng.Kill(t.Context(), "p", LifecycleRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rt.calls, ";"); got != "kill p-web-1 SIGKILL;resume p-web-1" {
		t.Errorf("calls: %s", got)
	}
	if !eng.readState("p-web-1").Stopping {
		t.Errorf("SIGKILL did not keep the container down")
	}
	// other signals leave a paused container paused and its policy alone
	rt.calls, rt.labels = nil, nil
	if _, err := eng.Kill(t.Context(), "p", LifecycleRequest{Signal: "HUP"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rt.calls, ";"); got != "kill p-web-1 HUP" || rt.labels != nil {
		t.Errorf("kill -s HUP: calls %s, labels %v", got, rt.labels)
	}
}
