package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// call is one thing the fake applier was asked to do.
type call struct {
	op      string // sync, restart, rebuild, exec
	service string
	changes []FileChange
	exec    Exec
}

// fakeApplier records calls; its errors and blocking are set per test.
type fakeApplier struct {
	mu         sync.Mutex
	calls      []call
	syncErr    error
	rebuildErr error
	recreated  bool
	// syncGate, when set, holds each Sync until a value arrives.
	syncGate chan struct{}
}

func (f *fakeApplier) record(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeApplier) Sync(ctx context.Context, service string, changes []FileChange) error {
	f.record(call{op: "sync", service: service, changes: changes})
	if f.syncGate != nil {
		select {
		case <-f.syncGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.syncErr
}

func (f *fakeApplier) Restart(_ context.Context, service string) error {
	f.record(call{op: "restart", service: service})
	return nil
}

func (f *fakeApplier) Rebuild(_ context.Context, service string) (bool, error) {
	f.record(call{op: "rebuild", service: service})
	return f.recreated, f.rebuildErr
}

func (f *fakeApplier) Exec(_ context.Context, service string, x Exec) error {
	f.record(call{op: "exec", service: service, exec: x})
	return nil
}

func (f *fakeApplier) snapshot() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// waitCalls waits until the applier has n calls and returns them.
func (f *fakeApplier) waitCalls(t *testing.T, n int) []call {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if calls := f.snapshot(); len(calls) >= n {
			return calls
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("want %d applier calls within 10s, got %+v", n, f.snapshot())
	return nil
}

// events collects what a watcher observes.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) observe(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) snapshot() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func (e *events) wait(t *testing.T, kind EventKind) Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range e.snapshot() {
			if ev.Kind == kind {
				return ev
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no event of kind %d within 10s; got %+v", kind, e.snapshot())
	return Event{}
}

func targets(changes []FileChange) []string {
	var out []string
	for _, c := range changes {
		s := c.Target
		if c.Deleted {
			s = "-" + s
		}
		out = append(out, s)
	}
	return out
}

// loopFixture runs a watcher's loop fed by hand, without inotify.
type loopFixture struct {
	dir     string
	w       *Watcher
	applier *fakeApplier
	events  *events
	changes chan string
	cancel  context.CancelFunc
	done    chan error
}

func startLoop(t *testing.T, window time.Duration, services func(dir string) []Service) *loopFixture {
	t.Helper()
	dir := t.TempDir()
	f := &loopFixture{dir: dir, applier: &fakeApplier{}, events: &events{}, changes: make(chan string), done: make(chan error, 1)}
	w, err := New(services(dir), f.applier, Options{Debounce: window, Observe: f.events.observe})
	if err != nil {
		t.Fatal(err)
	}
	f.w = w
	ctx, cancel := context.WithCancel(t.Context())
	f.cancel = cancel
	go func() { f.done <- w.loop(ctx, f.changes, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("loop: %v", err)
		}
	})
	return f
}

func (f *loopFixture) send(names ...string) {
	for _, n := range names {
		f.changes <- filepath.Join(f.dir, n)
	}
}

func twoSyncServices(dir string) []Service {
	mkdirs(dir, "web", "api")
	return []Service{
		{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "web"), Action: ActionSync, Target: "/srv"}}},
		{Name: "api", Rules: []Rule{{Path: filepath.Join(dir, "api"), Action: ActionSync, Target: "/app"}}},
	}
}

func TestLoopBatchesPerService(t *testing.T) {
	f := startLoop(t, 50*time.Millisecond, twoSyncServices)
	f.send("web/a", "api/x", "web/b", "elsewhere/c", "web/a")
	calls := f.applier.waitCalls(t, 2)
	slices.SortFunc(calls, func(a, b call) int { return strings.Compare(a.service, b.service) })
	want := map[string][]string{"api": {"-/app/x"}, "web": {"-/srv/a", "-/srv/b"}}
	for _, c := range calls {
		if c.op != "sync" || !slices.Equal(targets(c.changes), want[c.service]) {
			t.Errorf("call %s %s %v; want sync %v", c.op, c.service, targets(c.changes), want[c.service])
		}
	}
	time.Sleep(150 * time.Millisecond)
	if n := len(f.applier.snapshot()); n != 2 {
		t.Errorf("%d calls; want the 2 batches only", n)
	}
}

func TestLoopQuietWindowSeparatesBursts(t *testing.T) {
	f := startLoop(t, 40*time.Millisecond, twoSyncServices)
	f.send("web/a", "web/b", "web/c")
	f.applier.waitCalls(t, 1)
	f.send("web/d", "web/e")
	calls := f.applier.waitCalls(t, 2)
	if got := []int{len(calls[0].changes), len(calls[1].changes)}; !slices.Equal(got, []int{3, 2}) {
		t.Errorf("batches of %v changes; want [3 2]", got)
	}
}

func TestLoopEndlessWritesStillFlush(t *testing.T) {
	window := 20 * time.Millisecond
	f := startLoop(t, window, twoSyncServices)
	// a change every 5 ms never leaves a quiet window; the batch goes out
	// after maxDelayFactor windows all the same
	for i := range 100 {
		f.send(fmt.Sprintf("web/f%d", i))
		time.Sleep(5 * time.Millisecond)
	}
	calls := f.applier.snapshot()
	if len(calls) == 0 {
		t.Fatalf("no batch during %v of continuous writes; want one every %v at most", 100*5*time.Millisecond, maxDelayFactor*window)
	}
}

func TestLoopMergesChangesWhileBusy(t *testing.T) {
	f := startLoop(t, 30*time.Millisecond, twoSyncServices)
	f.applier.syncGate = make(chan struct{})
	f.send("web/a")
	f.applier.waitCalls(t, 1) // the first batch is being applied
	f.send("web/b")
	time.Sleep(100 * time.Millisecond) // more than a window: a batch is ready
	f.send("web/c")
	time.Sleep(100 * time.Millisecond)
	if n := len(f.applier.snapshot()); n != 1 {
		t.Fatalf("%d calls while the first sync runs; want 1", n)
	}
	f.applier.syncGate <- struct{}{}
	calls := f.applier.waitCalls(t, 2)
	f.applier.syncGate <- struct{}{}
	if got := targets(calls[1].changes); !slices.Equal(got, []string{"-/srv/b", "-/srv/c"}) {
		t.Errorf("second batch %v; want both changes made while busy", got)
	}
}

func TestApply(t *testing.T) {
	boom := errors.New("boom")
	hup := Exec{Command: []string{"kill", "-HUP", "1"}}
	files := []FileChange{{HostPath: "/src/a", Target: "/a"}}
	tests := []struct {
		name      string
		rules     []RuleChanges
		applier   *fakeApplier
		wantCalls []string
		wantKinds []EventKind
	}{
		{
			name:      "sync+restart",
			rules:     []RuleChanges{{Rule: Rule{Action: ActionSyncRestart}, Files: files}},
			wantCalls: []string{"sync", "restart"},
			wantKinds: []EventKind{EventSynced, EventRestarted},
		},
		{
			name:      "sync+exec",
			rules:     []RuleChanges{{Rule: Rule{Action: ActionSyncExec, Exec: hup}, Files: files}},
			wantCalls: []string{"sync", "exec"},
			wantKinds: []EventKind{EventSynced, EventExecuted},
		},
		{
			name:      "a failed sync skips the restart",
			rules:     []RuleChanges{{Rule: Rule{Action: ActionSyncRestart}, Files: files}},
			applier:   &fakeApplier{syncErr: boom},
			wantCalls: []string{"sync"},
			wantKinds: []EventKind{EventFailed},
		},
		{
			name: "rebuild first; a recreated service needs no restart",
			rules: []RuleChanges{
				{Rule: Rule{Action: ActionRebuild}, Files: files},
				{Rule: Rule{Action: ActionRestart}, Files: files},
			},
			applier:   &fakeApplier{recreated: true},
			wantCalls: []string{"rebuild"},
			wantKinds: []EventKind{EventRebuilding, EventRebuilt},
		},
		{
			name: "an unchanged image keeps the containers: restart them",
			rules: []RuleChanges{
				{Rule: Rule{Action: ActionRebuild}, Files: files},
				{Rule: Rule{Action: ActionRestart}, Files: files},
			},
			wantCalls: []string{"rebuild", "restart"},
			wantKinds: []EventKind{EventRebuilding, EventRebuilt, EventRestarted},
		},
		{
			name: "a failed rebuild is reported; the sync still runs",
			rules: []RuleChanges{
				{Rule: Rule{Action: ActionRebuild}, Files: files},
				{Rule: Rule{Action: ActionSync}, Files: files},
			},
			applier:   &fakeApplier{rebuildErr: boom},
			wantCalls: []string{"rebuild", "sync"},
			wantKinds: []EventKind{EventRebuilding, EventFailed, EventSynced},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var evs events
			if tt.applier == nil {
				tt.applier = &fakeApplier{}
			}
			w := &Watcher{applier: tt.applier, observe: evs.observe}
			w.apply(t.Context(), Batch{Service: "web", Rules: tt.rules})
			var ops []string
			for _, c := range tt.applier.snapshot() {
				ops = append(ops, c.op)
			}
			var kinds []EventKind
			for _, e := range evs.snapshot() {
				kinds = append(kinds, e.Kind)
				if e.Kind == EventFailed && !errors.Is(e.Err, boom) {
					t.Errorf("failure event without the cause: %+v", e)
				}
			}
			if !slices.Equal(ops, tt.wantCalls) || !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("calls %v events %v; want %v %v", ops, kinds, tt.wantCalls, tt.wantKinds)
			}
		})
	}
}

func TestApplyQuietWhenCanceled(t *testing.T) {
	var evs events
	w := &Watcher{applier: &fakeApplier{syncErr: context.Canceled}, observe: evs.observe}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w.apply(ctx, Batch{Service: "web", Rules: []RuleChanges{{Rule: Rule{Action: ActionSync}, Files: []FileChange{{Target: "/a"}}}}})
	if got := evs.snapshot(); len(got) != 0 {
		t.Errorf("events after Ctrl-C: %+v; want none", got)
	}
}

func TestNewWarnsAndSkips(t *testing.T) {
	dir := t.TempDir()
	mkdirs(dir, "static", "conf")
	var evs events
	w, err := New([]Service{{
		Name:       "web",
		BindMounts: []string{filepath.Join(dir, "conf")},
		Rules: []Rule{
			{Path: filepath.Join(dir, "missing"), Action: ActionRestart},
			{Path: filepath.Join(dir, "conf"), Action: ActionSync, Target: "/etc/app"},
			{Path: filepath.Join(dir, "conf"), Action: ActionRestart}, // not a sync: watched
			{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/srv"},
		},
	}}, &fakeApplier{}, Options{Observe: evs.observe})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, e := range evs.snapshot() {
		warnings = append(warnings, e.String())
	}
	want := []string{
		fmt.Sprintf(`service "web": develop.watch[0]: path %s does not exist: it is not watched`, filepath.Join(dir, "missing")),
		fmt.Sprintf(`service "web": develop.watch[1]: path %s is bind-mounted from %s: the container sees its files already, so this sync rule is not watched`, filepath.Join(dir, "conf"), filepath.Join(dir, "conf")),
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", warnings, want)
	}
	var kept []int
	for _, r := range w.services[0].rules {
		kept = append(kept, r.index)
	}
	if !slices.Equal(kept, []int{2, 3}) {
		t.Errorf("watched rules %v; want [2 3]", kept)
	}
}

func TestNewNothingToWatch(t *testing.T) {
	dir := t.TempDir()
	_, err := New([]Service{{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "missing"), Action: ActionRestart}}}}, &fakeApplier{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "none of the selected services") {
		t.Fatalf("New: %v; want an error saying there is nothing to watch", err)
	}
	_, err = New(nil, &fakeApplier{}, Options{})
	if err == nil {
		t.Fatal("New without services: no error")
	}
}

func TestNewRefusesBadRules(t *testing.T) {
	dir := t.TempDir()
	_, err := New([]Service{{Name: "api", Rules: []Rule{{Path: dir, Action: ActionRebuild}}}}, &fakeApplier{}, Options{})
	if err == nil || !strings.Contains(err.Error(), `service "api"`) || !strings.Contains(err.Error(), "build:") {
		t.Fatalf("New: %v; want the rebuild rule without build: refused", err)
	}
}

func TestRoots(t *testing.T) {
	dir := t.TempDir()
	mkdirs(dir, "src/static", "src/api", "other")
	write(t, filepath.Join(dir, "conf.yaml"), "")
	write(t, filepath.Join(dir, "src/go.mod"), "")
	w, err := New([]Service{
		{Name: "web", Rules: []Rule{
			{Path: filepath.Join(dir, "src/static"), Action: ActionSync, Target: "/srv"},
			{Path: filepath.Join(dir, "conf.yaml"), Action: ActionRestart},
		}},
		{Name: "api", Build: &Build{Context: dir}, Rules: []Rule{
			{Path: filepath.Join(dir, "src"), Action: ActionRebuild},
			{Path: filepath.Join(dir, "src/go.mod"), Action: ActionRebuild},
			{Path: filepath.Join(dir, "other"), Action: ActionRestart},
		}},
	}, &fakeApplier{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range w.roots() {
		got = append(got, fmt.Sprintf("%s dir=%v", strings.TrimPrefix(r.path, dir), r.dir))
	}
	want := []string{"/other dir=true", "/src dir=true", "/conf.yaml dir=false"}
	if !slices.Equal(got, want) {
		t.Errorf("roots %v; want %v", got, want)
	}
}

func TestInitialSync(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".dockerignore"), "**/*.log\n")
	for _, name := range []string{"static/index.html", "static/css/site.css", "static/debug.log", "static/.git/HEAD", "static/drafts/x.html", "static/.index.html.swp"} {
		write(t, filepath.Join(dir, name), "x")
	}
	a := &fakeApplier{}
	w, err := New([]Service{{Name: "web", Build: &Build{Context: dir}, Rules: []Rule{
		{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/srv", InitialSync: true, Ignore: []string{"drafts/"}},
		{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/other"}, // no initial_sync
	}}}, a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.InitialSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	calls := a.snapshot()
	if len(calls) != 1 {
		t.Fatalf("calls %+v; want one sync", calls)
	}
	if got := targets(calls[0].changes); !slices.Equal(got, []string{"/srv/css/site.css", "/srv/index.html"}) {
		t.Errorf("initial sync of %v; want only the files that travel", got)
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Kind: EventSynced, Service: "api", Files: 3, Duration: 41 * time.Millisecond}, `Syncing "api" after 3 changes (41 ms)`},
		{Event{Kind: EventSynced, Service: "api", Files: 1, Duration: 2 * time.Millisecond}, `Syncing "api" after 1 change (2 ms)`},
		{Event{Kind: EventRebuilding, Service: "web", Files: 2}, `Rebuilding "web" after 2 changes`},
		{Event{Kind: EventRebuilt, Service: "web", Recreated: true, Duration: 1200 * time.Millisecond}, `Rebuilt "web": new image, service recreated (1.2 s)`},
		{Event{Kind: EventFailed, Service: "web", Action: ActionRebuild, Err: errors.New("exit 1")}, `rebuild of "web" failed: exit 1`},
		{Event{Kind: EventWarning, Text: "careful"}, "careful"},
	}
	for _, tt := range tests {
		if got := tt.ev.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func mkdirs(dir string, names ...string) {
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			panic(err)
		}
	}
}
