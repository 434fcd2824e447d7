package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// maxWatchesFile is where Linux keeps the per-user inotify watch limit.
const maxWatchesFile = "/proc/sys/fs/inotify/max_user_watches"

// root is a watched path: a directory watched with everything under it, or
// a single file, watched through its parent directory so that editors that
// save by renaming a new file over it are still seen.
type root struct {
	path string
	dir  bool
}

// notifier turns inotify events on a set of roots into changed paths. It
// adds a watch on every directory under a directory root, and on each new
// directory as it appears (reporting what was created in it before its
// watch existed).
type notifier struct {
	roots   []root
	skipDir func(string) bool
	fsw     *fsnotify.Watcher
	out     chan string
	errs    chan error
	done    chan struct{}
	wg      sync.WaitGroup

	// addWatch and maxWatches are fields so tests can run out of watches.
	addWatch   func(string) error
	maxWatches func() (int, error)
	// exhausted is set once the limit was reported while running.
	exhausted bool
}

func newNotifier(roots []root, skipDir func(string) bool) (*notifier, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if errors.Is(err, syscall.EMFILE) {
			return nil, fmt.Errorf("watch: the kernel's limit of inotify instances is reached (%w); raise fs.inotify.max_user_instances, e.g. sysctl fs.inotify.max_user_instances=1024", err)
		}
		return nil, fmt.Errorf("watch: start inotify: %w", err)
	}
	n := &notifier{
		roots:      roots,
		skipDir:    skipDir,
		fsw:        fsw,
		out:        make(chan string, 4096),
		errs:       make(chan error, 16),
		done:       make(chan struct{}),
		maxWatches: readMaxWatches,
	}
	n.addWatch = fsw.Add
	return n, nil
}

// start puts the watches in place; it fails with one line naming
// fs.inotify.max_user_watches when the kernel's limit does not allow them.
func (n *notifier) start() error {
	for _, r := range n.roots {
		var err error
		if r.dir {
			err = n.watchTree(r.path, nil)
		} else {
			err = n.addWatch(filepath.Dir(r.path))
		}
		if errors.Is(err, syscall.ENOSPC) {
			return n.limitError()
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("watch %s: %w", r.path, err)
		}
	}
	n.wg.Add(1)
	go n.loop()
	return nil
}

func (n *notifier) close() error {
	close(n.done)
	err := n.fsw.Close()
	n.wg.Wait()
	return err
}

// watchTree watches dir and every directory under it; found, when set,
// gets every path under dir (for a directory that appeared after start).
func (n *notifier) watchTree(dir string, found func(string)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
				return nil // gone already, or not ours to see
			}
			return err
		}
		if p != dir && found != nil {
			found(p)
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && n.skipDir(p) {
			return filepath.SkipDir
		}
		if err := n.addWatch(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// limitError counts the directories still to watch and says what
// fs.inotify.max_user_watches must be.
func (n *notifier) limitError() error {
	watched := len(n.fsw.WatchList())
	needed := 0
	for _, r := range n.roots {
		if !r.dir {
			needed++
			continue
		}
		_ = filepath.WalkDir(r.path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != r.path && n.skipDir(p) {
				return filepath.SkipDir
			}
			needed++
			return nil
		})
	}
	missing := max(needed-watched, 1)
	limit, err := n.maxWatches()
	if err != nil {
		return fmt.Errorf("watch: the kernel's inotify watch limit (fs.inotify.max_user_watches) is reached: %d more directories need a watch; raise it with sysctl", missing)
	}
	return fmt.Errorf("watch: the kernel's inotify watch limit is reached: %d directories need a watch, %d more than fs.inotify.max_user_watches (%d) leaves; raise it: sysctl fs.inotify.max_user_watches=%d",
		needed, missing, limit, limit+missing)
}

func readMaxWatches() (int, error) {
	b, err := os.ReadFile(maxWatchesFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func (n *notifier) loop() {
	defer n.wg.Done()
	for {
		select {
		case ev, ok := <-n.fsw.Events:
			if !ok {
				return
			}
			n.handle(ev)
		case err, ok := <-n.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				err = errors.New("watch: the kernel's inotify event queue overflowed and changes were lost; save the files again, or raise fs.inotify.max_queued_events")
			}
			n.report(err)
		}
	}
}

// handle passes on a change under a root; a new directory gets its watches
// and everything already in it is passed on too.
func (n *notifier) handle(ev fsnotify.Event) {
	if !n.covered(ev.Name) {
		return
	}
	n.send(ev.Name)
	if !ev.Has(fsnotify.Create) || !n.coveredByDir(ev.Name) {
		return
	}
	fi, err := os.Lstat(ev.Name)
	if err != nil || !fi.IsDir() || n.skipDir(ev.Name) {
		return
	}
	err = n.watchTree(ev.Name, n.send)
	switch {
	case errors.Is(err, syscall.ENOSPC) && !n.exhausted:
		n.exhausted = true
		n.report(n.limitError())
	case err != nil && !errors.Is(err, syscall.ENOSPC):
		n.report(fmt.Errorf("watch %s: %w", ev.Name, err))
	}
}

func (n *notifier) send(p string) {
	select {
	case n.out <- p:
	case <-n.done:
	}
}

func (n *notifier) report(err error) {
	select {
	case n.errs <- err:
	case <-n.done:
	}
}

// covered tells whether p is a root or lies under a directory root; the
// parent directory of a file root reports its other entries too.
func (n *notifier) covered(p string) bool {
	for _, r := range n.roots {
		if r.path == p || (r.dir && within(r.path, p)) {
			return true
		}
	}
	return false
}

func (n *notifier) coveredByDir(p string) bool {
	for _, r := range n.roots {
		if r.dir && within(r.path, p) {
			return true
		}
	}
	return false
}
