// Package watch owns `develop.watch`: it watches the rules' host paths with
// inotify, decides which changes travel (ignore, include, .dockerignore,
// editor files), batches them per service after a quiet window, and hands
// each batch to an Applier that syncs, restarts, rebuilds or execs. It never
// touches containerd: the engine behind the Applier does.
package watch

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Action is what a rule does when a file under its path changes.
type Action string

// The actions of the Compose specification's develop.watch.
const (
	ActionSync        Action = "sync"
	ActionRebuild     Action = "rebuild"
	ActionRestart     Action = "restart"
	ActionSyncRestart Action = "sync+restart"
	ActionSyncExec    Action = "sync+exec"
)

// syncs tells whether the action copies files into the containers.
func (a Action) syncs() bool {
	return a == ActionSync || a == ActionSyncRestart || a == ActionSyncExec
}

func (a Action) known() bool {
	switch a {
	case ActionSync, ActionRebuild, ActionRestart, ActionSyncRestart, ActionSyncExec:
		return true
	}
	return false
}

// Exec is the command a sync+exec rule runs in each replica after a sync.
type Exec struct {
	Command    []string
	User       string
	WorkingDir string
	Privileged bool
	// Env holds KEY=VALUE entries.
	Env []string
}

// Rule is one entry of a service's develop.watch.
type Rule struct {
	// Path is the host path watched: absolute, a directory or a file.
	Path   string
	Action Action
	// Target is where Path lands in the container (sync actions).
	Target string
	// Ignore and Include are .dockerignore-style patterns relative to Path.
	Ignore, Include []string
	InitialSync     bool
	Exec            Exec
}

// Build is what watch needs of a service's build: section: where the
// .dockerignore that filters every rule of the service lives.
type Build struct {
	// Context is the build context directory, absolute.
	Context string
	// Dockerfile is relative to Context unless absolute; its
	// <Dockerfile>.dockerignore wins over the context's .dockerignore.
	Dockerfile string
}

// Service is a service with develop.watch rules.
type Service struct {
	Name  string
	Rules []Rule
	// Build is nil for a service without build:.
	Build *Build
	// BindMounts are the host sources of the service's bind mounts: a sync
	// rule under one of them has nothing to copy.
	BindMounts []string
}

// Validate checks every rule before anything starts; each problem is one
// line naming the service and the rule.
func Validate(services []Service) error {
	var errs []error
	for _, s := range services {
		for i, r := range s.Rules {
			if err := validateRule(s, r); err != nil {
				errs = append(errs, fmt.Errorf("service %q: %s: %w", s.Name, ruleName(i, r), err))
			}
		}
	}
	return errors.Join(errs...)
}

// ruleName names a rule the way a user finds it in the file.
func ruleName(i int, r Rule) string {
	if r.Path == "" {
		return fmt.Sprintf("develop.watch[%d]", i)
	}
	return fmt.Sprintf("develop.watch[%d] (%s %s)", i, r.Action, r.Path)
}

func validateRule(s Service, r Rule) error {
	switch {
	case r.Path == "":
		return errors.New("path is required")
	case !filepath.IsAbs(r.Path):
		return fmt.Errorf("path %q must be absolute once loaded", r.Path)
	case !r.Action.known():
		return fmt.Errorf("unknown action %q: want sync, rebuild, restart, sync+restart or sync+exec", r.Action)
	case r.Action == ActionRebuild && s.Build == nil:
		return errors.New("action rebuild needs a build: section in the service")
	case r.Action == ActionSyncExec && len(r.Exec.Command) == 0:
		return errors.New("action sync+exec needs exec.command")
	case r.Action.syncs():
		if err := validateTarget(r.Target); err != nil {
			return err
		}
	}
	if _, err := newPatterns(r.Ignore); err != nil {
		return fmt.Errorf("ignore: %w", err)
	}
	if _, err := newPatterns(r.Include); err != nil {
		return fmt.Errorf("include: %w", err)
	}
	return nil
}

// validateTarget refuses a sync target that does not name a place inside
// the container's filesystem: a relative path has no defined base, and a
// ".." that climbs above "/" is a mistake the copy would silently clamp.
func validateTarget(target string) error {
	switch {
	case target == "":
		return errors.New("target is required for sync actions")
	case !strings.HasPrefix(target, "/"):
		return fmt.Errorf("target %q is outside the container's filesystem: it must be an absolute path", target)
	}
	depth := 0
	for _, elem := range strings.Split(target, "/") {
		switch elem {
		case "", ".":
		case "..":
			if depth == 0 {
				return fmt.Errorf("target %q is outside the container's filesystem: it climbs above /", target)
			}
			depth--
		default:
			depth++
		}
	}
	return nil
}

// containerPath is where a host path under rule r lands in the container.
func (r Rule) containerPath(hostPath string) string {
	rel, err := filepath.Rel(r.Path, hostPath)
	if err != nil || rel == "." {
		return path.Clean(r.Target)
	}
	return path.Join(r.Target, filepath.ToSlash(rel))
}

// within tells whether p is dir or lies under it.
func within(dir, p string) bool {
	if p == dir {
		return true
	}
	if dir == string(filepath.Separator) {
		return strings.HasPrefix(p, dir)
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}
