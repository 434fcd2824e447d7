package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runFixture runs a real watcher (inotify) on a temporary directory.
type runFixture struct {
	dir     string
	applier *fakeApplier
	events  *events
}

func startRun(t *testing.T, o Options, services func(dir string) []Service) *runFixture {
	t.Helper()
	dir := t.TempDir()
	f := &runFixture{dir: dir, applier: &fakeApplier{}, events: &events{}}
	o.Observe = f.events.observe
	w, err := New(services(dir), f.applier, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	f.events.wait(t, EventWatching)
	return f
}

func (f *runFixture) path(name string) string { return filepath.Join(f.dir, name) }

func staticSync(dir string) []Service {
	mkdirs(dir, "static")
	return []Service{{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/srv"}}}}
}

func TestRunPicksUpNewDirectories(t *testing.T) {
	f := startRun(t, Options{Debounce: 50 * time.Millisecond}, staticSync)
	// created at once, before any watch on b or c can exist
	write(t, f.path("static/a/b/c/first.txt"), "1")
	calls := f.applier.waitCalls(t, 1)
	if got := targets(calls[0].changes); !slices.Contains(got, "/srv/a/b/c/first.txt") {
		t.Fatalf("first batch %v; want the file written in the new directories", got)
	}
	// the new directories are watched now
	write(t, f.path("static/a/b/c/second.txt"), "2")
	calls = f.applier.waitCalls(t, 2)
	if got := targets(calls[1].changes); !slices.Equal(got, []string{"/srv/a/b/c/second.txt"}) {
		t.Fatalf("second batch %v; want the file written later in the new directory", got)
	}
}

func TestRunDeletions(t *testing.T) {
	f := startRun(t, Options{Debounce: 50 * time.Millisecond}, func(dir string) []Service {
		write(t, filepath.Join(dir, "static/old.css"), "x")
		write(t, filepath.Join(dir, "static/dir/inner.css"), "x")
		return staticSync(dir)
	})
	if err := os.Remove(f.path("static/old.css")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.path("static/dir"), f.path("moved-out")); err != nil {
		t.Fatal(err)
	}
	calls := f.applier.waitCalls(t, 1)
	if got := targets(calls[0].changes); !slices.Equal(got, []string{"-/srv/dir", "-/srv/old.css"}) {
		t.Fatalf("batch %v; want both paths deleted", got)
	}
}

func TestRunIgnoredFilesDoNotTravel(t *testing.T) {
	f := startRun(t, Options{Debounce: 50 * time.Millisecond}, func(dir string) []Service {
		write(t, filepath.Join(dir, ".dockerignore"), "**/*.log\n")
		mkdirs(dir, "static/.git", "static/drafts")
		return []Service{{Name: "web", Build: &Build{Context: dir}, Rules: []Rule{
			{Path: filepath.Join(dir, "static"), Action: ActionSync, Target: "/srv", Ignore: []string{"drafts/"}},
		}}}
	})
	for _, name := range []string{"static/.git/index", "static/.page.html.swp", "static/page.html~", "static/debug.log", "static/drafts/x.html", "static/page.html"} {
		write(t, f.path(name), "x")
	}
	calls := f.applier.waitCalls(t, 1)
	if got := targets(calls[0].changes); !slices.Equal(got, []string{"/srv/page.html"}) {
		t.Fatalf("batch %v; want only page.html", got)
	}
}

func TestRunFileRuleSeesRenameSaves(t *testing.T) {
	f := startRun(t, Options{Debounce: 50 * time.Millisecond}, func(dir string) []Service {
		write(t, filepath.Join(dir, "conf/app.yaml"), "a: 1")
		return []Service{{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "conf/app.yaml"), Action: ActionSyncRestart, Target: "/etc/app.yaml"}}}}
	})
	// editors save by writing a new file and renaming it over the old one
	write(t, f.path("conf/.app.yaml.tmp"), "a: 2")
	write(t, f.path("conf/other.yaml"), "b")
	if err := os.Rename(f.path("conf/.app.yaml.tmp"), f.path("conf/app.yaml")); err != nil {
		t.Fatal(err)
	}
	calls := f.applier.waitCalls(t, 2)
	if calls[0].op != "sync" || !slices.Equal(targets(calls[0].changes), []string{"/etc/app.yaml"}) || calls[1].op != "restart" {
		t.Fatalf("calls %+v; want a sync of /etc/app.yaml then a restart", calls)
	}
	// a second save is seen too: the watch is on the directory
	write(t, f.path("conf/app.yaml"), "a: 3")
	f.applier.waitCalls(t, 4)
}

// TestRunThousandFilesOneBatch is the requirement: 1,000 files
// written at once, with the default window, are one batch.
func TestRunThousandFilesOneBatch(t *testing.T) {
	f := startRun(t, Options{}, staticSync)
	for i := range 1000 {
		write(t, f.path(fmt.Sprintf("static/d%d/f%d.txt", i%10, i)), "x")
	}
	calls := f.applier.waitCalls(t, 1)
	if n := len(calls[0].changes); n != 1010 { // the files and their 10 new directories
		t.Errorf("the batch holds %d changes; want 1010", n)
	}
	time.Sleep(3 * DefaultDebounce)
	if calls := f.applier.snapshot(); len(calls) != 1 {
		t.Fatalf("%d batches for 1,000 files written at once; want 1", len(calls))
	}
	ev := f.events.wait(t, EventSynced)
	if ev.Files != 1010 {
		t.Errorf("the event counts %d changes; want 1010", ev.Files)
	}
}

func TestRunSkipsIgnoredDirectories(t *testing.T) {
	dir := t.TempDir()
	mkdirs(dir, "src/node_modules/a/b", "src/.git/objects", "src/pkg")
	write(t, filepath.Join(dir, ".dockerignore"), "src/node_modules\n")
	w, err := New([]Service{{Name: "api", Build: &Build{Context: dir}, Rules: []Rule{{Path: filepath.Join(dir, "src"), Action: ActionRebuild}}}}, &fakeApplier{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNotifier(w.roots(), w.skipDir)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	n.addWatch = func(p string) error {
		added = append(added, strings.TrimPrefix(p, dir))
		return n.fsw.Add(p)
	}
	if err := n.start(); err != nil {
		t.Fatal(err)
	}
	n.close()
	if !slices.Equal(added, []string{"/src", "/src/pkg"}) {
		t.Errorf("watched %v; want /src and /src/pkg only", added)
	}
}

func TestRunInotifyLimit(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		mkdirs(dir, fmt.Sprintf("src/d%d", i))
	}
	w, err := New([]Service{{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "src"), Action: ActionSync, Target: "/srv"}}}}, &fakeApplier{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNotifier(w.roots(), w.skipDir)
	if err != nil {
		t.Fatal(err)
	}
	// the kernel allows 3 more watches
	n.addWatch = func(p string) error {
		if len(n.fsw.WatchList()) >= 3 {
			return syscall.ENOSPC
		}
		return n.fsw.Add(p)
	}
	n.maxWatches = func() (int, error) { return 8192, nil }
	err = w.runWith(t.Context(), n)
	want := "watch: the kernel's inotify watch limit is reached: 11 directories need a watch, 8 more than fs.inotify.max_user_watches (8192) leaves; raise it: sysctl fs.inotify.max_user_watches=8200"
	if err == nil || err.Error() != want {
		t.Fatalf("Run: %v\nwant %s", err, want)
	}
}

func TestRunInotifyLimitOnNewDirectory(t *testing.T) {
	dir := t.TempDir()
	mkdirs(dir, "src")
	var evs events
	w, err := New([]Service{{Name: "web", Rules: []Rule{{Path: filepath.Join(dir, "src"), Action: ActionSync, Target: "/srv"}}}}, &fakeApplier{}, Options{Observe: evs.observe})
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNotifier(w.roots(), w.skipDir)
	if err != nil {
		t.Fatal(err)
	}
	n.addWatch = func(p string) error {
		if len(n.fsw.WatchList()) >= 1 {
			return syscall.ENOSPC
		}
		return n.fsw.Add(p)
	}
	n.maxWatches = func() (int, error) { return 100, nil }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.runWith(ctx, n) }()
	evs.wait(t, EventWatching)
	mkdirs(dir, "src/new/a", "src/new2")
	ev := evs.wait(t, EventWarning)
	if !strings.Contains(ev.Text, "fs.inotify.max_user_watches") {
		t.Errorf("warning %q; want it to name fs.inotify.max_user_watches", ev.Text)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var warnings int
	for _, e := range evs.snapshot() {
		if e.Kind == EventWarning {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d warnings; want the limit reported once", warnings)
	}
}
