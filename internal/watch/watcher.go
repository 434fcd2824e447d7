package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// DefaultDebounce is the quiet window after which a service's changes are
// applied; Docker Compose waits 500 ms.
const DefaultDebounce = 200 * time.Millisecond

// maxDelayFactor bounds how long a change can wait while writes go on
// without a pause: at most this many windows after the first change of
// the batch.
const maxDelayFactor = 10

// Options tune a Watcher.
type Options struct {
	// Debounce is the quiet window; 0 means DefaultDebounce.
	Debounce time.Duration
	// Observe receives every event; nil drops them.
	Observe func(Event)
}

// Watcher watches the rules of a set of services and applies their
// changes through an Applier.
type Watcher struct {
	services []*serviceWatch
	applier  Applier
	window   time.Duration
	observe  func(Event)
}

// serviceWatch is a service with the rules that are watched.
type serviceWatch struct {
	name  string
	rules []activeRule
}

type activeRule struct {
	index int // in the service's develop.watch
	rule  Rule
	dir   bool // Path is a directory
	m     *matcher
}

// New validates the services' rules and prepares the watch. A rule whose
// path does not exist, or a sync rule whose path the service bind-mounts,
// is left out with a warning. It fails when no rule is left to watch.
func New(services []Service, a Applier, o Options) (*Watcher, error) {
	if err := Validate(services); err != nil {
		return nil, err
	}
	w := &Watcher{applier: a, window: o.Debounce, observe: o.Observe}
	if w.window <= 0 {
		w.window = DefaultDebounce
	}
	if w.observe == nil {
		w.observe = func(Event) {}
	}
	for _, s := range services {
		sw, err := w.prepare(s)
		if err != nil {
			return nil, err
		}
		if len(sw.rules) > 0 {
			w.services = append(w.services, sw)
		}
	}
	if len(w.services) == 0 {
		return nil, errors.New("watch: none of the selected services has a develop.watch rule with a path to watch; add a develop: section to the Compose file")
	}
	return w, nil
}

func (w *Watcher) prepare(s Service) (*serviceWatch, error) {
	di, err := dockerignore(s.Build)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", s.Name, err)
	}
	context := ""
	if s.Build != nil {
		context = filepath.Clean(s.Build.Context)
	}
	sw := &serviceWatch{name: s.Name}
	for i, r := range s.Rules {
		r.Path = filepath.Clean(r.Path)
		if mount := bindMountOf(s, r); mount != "" {
			w.warn(s.Name, "develop.watch[%d]: path %s is bind-mounted from %s: the container sees its files already, so this %s rule is not watched", i, r.Path, mount, r.Action)
			continue
		}
		fi, err := os.Stat(r.Path)
		if errors.Is(err, fs.ErrNotExist) {
			w.warn(s.Name, "develop.watch[%d]: path %s does not exist: it is not watched", i, r.Path)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("service %q: develop.watch[%d]: %w", s.Name, i, err)
		}
		m, err := newMatcher(r, di, context)
		if err != nil {
			return nil, fmt.Errorf("service %q: %s: %w", s.Name, ruleName(i, r), err)
		}
		sw.rules = append(sw.rules, activeRule{index: i, rule: r, dir: fi.IsDir(), m: m})
	}
	return sw, nil
}

// bindMountOf returns the bind mount source that holds a sync rule's path.
func bindMountOf(s Service, r Rule) string {
	if !r.Action.syncs() {
		return ""
	}
	for _, src := range s.BindMounts {
		if src != "" && within(filepath.Clean(src), r.Path) {
			return src
		}
	}
	return ""
}

func (w *Watcher) warn(service, format string, args ...any) {
	w.observe(Event{Kind: EventWarning, Service: service, Text: fmt.Sprintf("service %q: ", service) + fmt.Sprintf(format, args...)})
}

// roots are the paths to watch: directories that no other directory root
// holds, and files outside every directory root.
func (w *Watcher) roots() []root {
	var dirs, files []string
	for _, s := range w.services {
		for _, r := range s.rules {
			if r.dir {
				dirs = append(dirs, r.rule.Path)
			} else {
				files = append(files, r.rule.Path)
			}
		}
	}
	sort.Strings(dirs)
	var out []root
	for _, d := range slices.Compact(dirs) {
		if !slices.ContainsFunc(out, func(r root) bool { return within(r.path, d) }) {
			out = append(out, root{path: d, dir: true})
		}
	}
	sort.Strings(files)
	for _, f := range slices.Compact(files) {
		if !slices.ContainsFunc(out, func(r root) bool { return r.dir && within(r.path, f) }) {
			out = append(out, root{path: f})
		}
	}
	return out
}

// skipDir tells whether no rule can act on anything under directory p.
func (w *Watcher) skipDir(p string) bool {
	for _, s := range w.services {
		for _, r := range s.rules {
			if r.dir && !r.m.skipsDir(p) {
				return false
			}
		}
	}
	return true
}

// route finds the rules that a change of host path p concerns, by service.
func (w *Watcher) route(p string) map[int][]int {
	var out map[int][]int
	for si, s := range w.services {
		for ri, r := range s.rules {
			if r.dir && p == r.rule.Path {
				continue // the watched directory itself: its content tells what changed
			}
			if r.m.matches(p) {
				if out == nil {
					out = map[int][]int{}
				}
				out[si] = append(out[si], ri)
			}
		}
	}
	return out
}

// Run watches until ctx ends, applying each service's batches in order;
// the batches of different services run side by side.
func (w *Watcher) Run(ctx context.Context) error {
	n, err := newNotifier(w.roots(), w.skipDir)
	if err != nil {
		return err
	}
	return w.runWith(ctx, n)
}

func (w *Watcher) runWith(ctx context.Context, n *notifier) error {
	if err := n.start(); err != nil {
		n.close()
		return err
	}
	defer n.close()
	w.observe(Event{Kind: EventWatching, Files: len(n.roots)})
	return w.loop(ctx, n.out, n.errs)
}

// loop collects changes per service and hands a service's batch to the
// Applier once no change arrived for the window (or the changes have
// waited maxDelayFactor windows).
func (w *Watcher) loop(ctx context.Context, changes <-chan string, errs <-chan error) error {
	var (
		wg      sync.WaitGroup
		fire    = make(chan int)
		idle    = make(chan int, len(w.services))
		pend    = make([]pending, len(w.services))
		timers  = make([]*time.Timer, len(w.services))
		stopped = make(chan struct{})
	)
	defer func() {
		close(stopped)
		for _, t := range timers {
			if t != nil {
				t.Stop()
			}
		}
		wg.Wait()
	}()
	arm := func(si int, d time.Duration) {
		pend[si].armed = true
		if timers[si] == nil {
			timers[si] = time.AfterFunc(d, func() {
				select {
				case fire <- si:
				case <-stopped:
				}
			})
			return
		}
		timers[si].Reset(d)
	}
	flush := func(si int) {
		p := &pend[si]
		p.ready, p.busy = false, true
		b := p.batch(w.services[si])
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.apply(ctx, b)
			idle <- si
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-changes:
			if !ok {
				return nil
			}
			now := time.Now()
			for si, rules := range w.route(p) {
				pend[si].add(p, rules, now)
				pend[si].ready = false // wait for quiet again
				if !pend[si].armed {
					arm(si, w.window)
				}
			}
		case err, ok := <-errs:
			if ok {
				w.observe(Event{Kind: EventWarning, Text: err.Error()})
			}
		case si := <-fire:
			p := &pend[si]
			p.armed = false
			if len(p.paths) == 0 {
				continue
			}
			now := time.Now()
			quietFor, waited := now.Sub(p.last), now.Sub(p.first)
			if quietFor < w.window && waited < maxDelayFactor*w.window {
				arm(si, min(w.window-quietFor, maxDelayFactor*w.window-waited))
				continue
			}
			if p.busy {
				p.ready = true
				continue
			}
			flush(si)
		case si := <-idle:
			pend[si].busy = false
			if pend[si].ready && len(pend[si].paths) > 0 {
				flush(si)
			}
		}
	}
}

// apply runs a batch's actions: rebuild, sync, restart, exec. A failure is
// reported and watching goes on; a failed sync skips the restart and the
// commands that would act on half-synced files.
func (w *Watcher) apply(ctx context.Context, b Batch) {
	a := b.Actions()
	svc := b.Service
	recreated := false
	if a.Rebuild {
		w.observe(Event{Kind: EventRebuilding, Service: svc, Files: b.Files()})
		start := time.Now()
		var err error
		recreated, err = w.applier.Rebuild(ctx, svc)
		if !w.failed(ctx, svc, ActionRebuild, err) {
			w.observe(Event{Kind: EventRebuilt, Service: svc, Recreated: recreated, Duration: time.Since(start)})
		}
	}
	if len(a.Sync) > 0 {
		start := time.Now()
		err := w.applier.Sync(ctx, svc, a.Sync)
		if w.failed(ctx, svc, ActionSync, err) {
			return
		}
		w.observe(Event{Kind: EventSynced, Service: svc, Files: len(a.Sync), Duration: time.Since(start)})
	}
	if a.Restart && !recreated {
		start := time.Now()
		err := w.applier.Restart(ctx, svc)
		if !w.failed(ctx, svc, ActionRestart, err) {
			w.observe(Event{Kind: EventRestarted, Service: svc, Duration: time.Since(start)})
		}
	}
	for _, x := range a.Exec {
		start := time.Now()
		err := w.applier.Exec(ctx, svc, x)
		if !w.failed(ctx, svc, ActionSyncExec, err) {
			w.observe(Event{Kind: EventExecuted, Service: svc, Command: x.Command, Duration: time.Since(start)})
		}
	}
}

// failed reports err unless it is nil or the watch is ending.
func (w *Watcher) failed(ctx context.Context, svc string, a Action, err error) bool {
	if err == nil {
		return false
	}
	if ctx.Err() == nil {
		w.observe(Event{Kind: EventFailed, Service: svc, Action: a, Err: err})
	}
	return true
}

// InitialSync copies, for every sync rule with initial_sync, each file under
// its path that its rule lets travel, so containers made before the watch
// began hold the current files. The Applier's Sync skips files the
// container already has unchanged.
func (w *Watcher) InitialSync(ctx context.Context) error {
	for _, s := range w.services {
		var changes []FileChange
		for _, r := range s.rules {
			if !r.rule.InitialSync || !r.rule.Action.syncs() {
				continue
			}
			files, err := r.files()
			if err != nil {
				return fmt.Errorf("service %q: initial sync of %s: %w", s.name, r.rule.Path, err)
			}
			for _, f := range files {
				changes = append(changes, FileChange{HostPath: f, Target: r.rule.containerPath(f)})
			}
		}
		if len(changes) == 0 {
			continue
		}
		start := time.Now()
		if err := w.applier.Sync(ctx, s.name, changes); err != nil {
			return fmt.Errorf("service %q: initial sync: %w", s.name, err)
		}
		w.observe(Event{Kind: EventSynced, Service: s.name, Files: len(changes), Duration: time.Since(start)})
	}
	return nil
}

// files lists what the rule would sync now: every file and symlink under
// its path that it matches (the path itself when it is a file).
func (r activeRule) files() ([]string, error) {
	if !r.dir {
		return []string{r.rule.Path}, nil
	}
	var out []string
	err := filepath.WalkDir(r.rule.Path, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p == r.rule.Path:
			return nil
		case d.IsDir() && r.m.skipsDir(p):
			return filepath.SkipDir
		case !d.IsDir() && r.m.matches(p):
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
