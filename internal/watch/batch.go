package watch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"sort"
	"syscall"
	"time"
)

// FileChange is one host path of a batch.
type FileChange struct {
	HostPath string
	// Target is the path in the container, for sync actions.
	Target string
	// Deleted: the host path no longer exists when the batch is made, so
	// the target goes too.
	Deleted bool
}

// RuleChanges are the changes of a batch that one rule matched.
type RuleChanges struct {
	// Index is the rule's position in the service's develop.watch.
	Index int
	Rule  Rule
	Files []FileChange
}

// Batch is what changed for one service within one quiet window.
type Batch struct {
	Service string
	Rules   []RuleChanges
}

// Actions is what a batch asks of the Applier, in the order they run:
// rebuild, sync, restart, exec.
type Actions struct {
	Rebuild bool
	// Sync lists each target once (the last rule to name it wins), sorted
	// by target so that parents come before their content.
	Sync    []FileChange
	Restart bool
	// Exec holds the command of each sync+exec rule that matched, once.
	Exec []Exec
}

// Actions resolves the batch into what to do.
func (b Batch) Actions() Actions {
	var a Actions
	byTarget := map[string]FileChange{}
	for _, rc := range b.Rules {
		switch rc.Rule.Action {
		case ActionRebuild:
			a.Rebuild = true
		case ActionRestart:
			a.Restart = true
		case ActionSyncRestart:
			a.Restart = true
		case ActionSyncExec:
			a.Exec = append(a.Exec, rc.Rule.Exec)
		}
		if rc.Rule.Action.syncs() {
			for _, f := range rc.Files {
				byTarget[f.Target] = f
			}
		}
	}
	for _, f := range byTarget {
		a.Sync = append(a.Sync, f)
	}
	sort.Slice(a.Sync, func(i, j int) bool { return a.Sync[i].Target < a.Sync[j].Target })
	return a
}

// Files counts the distinct host paths of the batch.
func (b Batch) Files() int {
	seen := map[string]bool{}
	for _, rc := range b.Rules {
		for _, f := range rc.Files {
			seen[f.HostPath] = true
		}
	}
	return len(seen)
}

// Applier carries out a batch's actions on a service's containers. The
// engine implements it; watch never reaches the containers itself.
type Applier interface {
	// Sync writes the changed files into every running replica of the
	// service and removes the deleted ones.
	Sync(ctx context.Context, service string, changes []FileChange) error
	// Restart restarts the service's containers.
	Restart(ctx context.Context, service string) error
	// Rebuild builds the service's image and, when it changed, recreates
	// the service and starts its dependents; recreated tells which.
	Rebuild(ctx context.Context, service string) (recreated bool, err error)
	// Exec runs a command in every running replica of the service.
	Exec(ctx context.Context, service string, x Exec) error
}

// pending holds a service's changes until its quiet window has passed.
type pending struct {
	// paths maps each changed host path to the rules that matched it.
	paths map[string][]int
	// first and last are when the oldest and newest change arrived.
	first, last time.Time
	armed       bool // its timer is running
	busy        bool // a batch of the service is being applied
	ready       bool // the window passed while busy: flush when idle
}

func (p *pending) add(path string, rules []int, now time.Time) {
	if p.paths == nil {
		p.paths = map[string][]int{}
		p.first = now
	}
	p.last = now
	for _, r := range rules {
		if !slices.Contains(p.paths[path], r) {
			p.paths[path] = append(p.paths[path], r)
		}
	}
}

// batch turns the pending paths into a batch, looking at each path once to
// tell a change from a deletion, and empties p.
func (p *pending) batch(s *serviceWatch) Batch {
	names := make([]string, 0, len(p.paths))
	for name := range p.paths {
		names = append(names, name)
	}
	sort.Strings(names)
	byRule := map[int]*RuleChanges{}
	for _, name := range names {
		_, err := os.Lstat(name)
		deleted := errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
		for _, i := range p.paths[name] {
			rc := byRule[i]
			if rc == nil {
				rc = &RuleChanges{Index: s.rules[i].index, Rule: s.rules[i].rule}
				byRule[i] = rc
			}
			f := FileChange{HostPath: name, Deleted: deleted}
			if rc.Rule.Action.syncs() {
				f.Target = rc.Rule.containerPath(name)
			}
			rc.Files = append(rc.Files, f)
		}
	}
	b := Batch{Service: s.name}
	for i := range s.rules {
		if rc := byRule[i]; rc != nil {
			b.Rules = append(b.Rules, *rc)
		}
	}
	p.paths = nil
	return b
}
