package service

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/signal"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/project"
)

// lifecycleRuntime is what the lifecycle commands (stop, kill, pause, top,
// stats, events) need of containerd beyond Runtime; *ctrd.Client
// implements it.
type lifecycleRuntime interface {
	StopContainer(ctx context.Context, id, stopSignal string, timeout time.Duration) error
	Kill(ctx context.Context, id, signal string) error
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Pids(ctx context.Context, id string) ([]uint32, error)
	Metrics(ctx context.Context, id string) (ctrd.Metrics, error)
	Subscribe(ctx context.Context) (<-chan ctrd.Event, <-chan error)
}

func (e *Engine) lifecycle() (lifecycleRuntime, error) {
	rt, ok := e.Runtime.(lifecycleRuntime)
	if !ok {
		return nil, errors.New("the container runtime cannot stop, signal or inspect tasks")
	}
	return rt, nil
}

// Operations of the lifecycle commands, beside the reconciler's start,
// stop and remove.
const (
	OpRestart OpKind = "restart"
	OpKill    OpKind = "kill"
	OpPause   OpKind = "pause"
	OpUnpause OpKind = "unpause"
)

// LifecycleRequest is stop, start, restart, kill, pause, unpause or rm with
// their flags.
type LifecycleRequest struct {
	// Services selects services; empty means every service of the project.
	Services []string
	// Timeout overrides each container's stop_grace_period.
	Timeout *time.Duration
	// Signal is kill's signal; empty means SIGKILL.
	Signal string
	// NoDeps keeps restart from restarting dependents declared with
	// depends_on.<svc>.restart: true.
	NoDeps bool
	// Stop makes rm stop running containers first; Volumes makes it remove
	// their anonymous volumes.
	Stop, Volumes bool
	DryRun        bool
}

// PlanStop stops the services' containers and keeps them: dependents
// before their dependencies (through services left out of the selection
// too), independent services in parallel.
func PlanStop(o Observed, services []string) *Plan {
	plan := &Plan{}
	addStops(plan, o, selectContainers(o, services, nil))
	return plan
}

// addStops adds a stop op per container and returns their IDs by name.
func addStops(plan *Plan, o Observed, cs []Container) map[string]int {
	dependents := dependentsOf(o.Containers)
	byService := map[string][]int{}
	byName := map[string]int{}
	for _, c := range sortByDependents(cs, dependents) {
		op := &Op{Kind: OpStop, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number}
		for _, d := range reachable(c.Service, dependents) {
			op.Deps = append(op.Deps, byService[d]...)
		}
		plan.add(op)
		byService[c.Service] = append(byService[c.Service], op.ID)
		byName[c.Name] = op.ID
	}
	return byName
}

// PlanStart starts the services' stopped containers and those of their
// dependencies, dependencies first; a dependent waits for the condition
// its depends_on names (healthy, completed successfully).
func PlanStart(o Observed, services []string) (*Plan, error) {
	deps := depsOf(o.Containers)
	selected := withDependencies(o, services, deps)
	plan := &Plan{}
	started := map[string][]int{}
	waits := map[string]int{}
	for _, svc := range dependencyOrder(selected, deps, nil) {
		cs := o.containersOf(svc)
		if len(cs) == 0 {
			return nil, fmt.Errorf("service %q has no container to start", svc)
		}
		var ops []*Op
		for _, c := range cs {
			if !isUp(c) {
				ops = append(ops, &Op{Kind: OpStart, Resource: ResContainer, Name: c.Name, Service: svc, Number: c.Number})
			}
		}
		if len(ops) == 0 {
			continue // nothing starts, so no condition needs waiting for
		}
		var gate []int
		for _, d := range deps[svc] {
			if !slices.Contains(selected, d.Service) {
				continue
			}
			gate = append(gate, started[d.Service]...)
			if kind := waitKind(d.Condition); kind != "" {
				key := d.Service + "/" + string(kind)
				if _, ok := waits[key]; !ok {
					waits[key] = plan.add(&Op{Kind: kind, Resource: ResService, Name: d.Service, Service: d.Service, Deps: slices.Clone(started[d.Service])}).ID
				}
				gate = append(gate, waits[key])
			}
		}
		for _, op := range ops {
			op.Deps = slices.Clone(gate)
			plan.add(op)
			started[svc] = append(started[svc], op.ID)
		}
	}
	return plan, nil
}

func waitKind(condition string) OpKind {
	switch condition {
	case ConditionHealthy:
		return OpWaitHealthy
	case ConditionCompleted:
		return OpWaitCompleted
	}
	return ""
}

// PlanRestart restarts the services' containers, whatever their state,
// with the dependents that declared depends_on.<svc>.restart: true (unless
// noDeps); along those edges dependencies restart first.
func PlanRestart(o Observed, services []string, noDeps bool) *Plan {
	deps := depsOf(o.Containers)
	restartDeps := map[string][]Dep{}
	for svc, ds := range deps {
		for _, d := range ds {
			if d.Restart {
				restartDeps[svc] = append(restartDeps[svc], d)
			}
		}
	}
	selected := serviceNames(o, services)
	if len(services) > 0 && !noDeps {
		dependents := map[string][]string{}
		for svc, ds := range restartDeps {
			for _, d := range ds {
				dependents[d.Service] = append(dependents[d.Service], svc)
			}
		}
		for _, s := range slices.Clone(selected) {
			for _, d := range reachable(s, dependents) {
				if !slices.Contains(selected, d) {
					selected = append(selected, d)
				}
			}
		}
	}
	plan := &Plan{}
	restarted := map[string][]int{}
	for _, svc := range dependencyOrder(selected, restartDeps, nil) {
		var gate []int
		for _, d := range restartDeps[svc] {
			gate = append(gate, restarted[d.Service]...)
		}
		for _, c := range o.containersOf(svc) {
			op := plan.add(&Op{Kind: OpRestart, Resource: ResContainer, Name: c.Name, Service: svc, Number: c.Number, Deps: slices.Clone(gate)})
			restarted[svc] = append(restarted[svc], op.ID)
		}
	}
	return plan
}

// PlanEach gives every selected container in a state that filter accepts
// one independent op: kill, pause and unpause run all at once.
func PlanEach(o Observed, services []string, kind OpKind, filter func(Container) bool) *Plan {
	plan := &Plan{}
	for _, c := range selectContainers(o, services, filter) {
		plan.add(&Op{Kind: kind, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number})
	}
	return plan
}

// PlanRemove removes the services' stopped containers; with stop, running
// ones are stopped first (in stop order) and removed too.
func PlanRemove(o Observed, services []string, stop bool) *Plan {
	plan := &Plan{}
	var toStop []Container
	if stop {
		toStop = selectContainers(o, services, isUp)
	}
	stops := addStops(plan, o, toStop)
	for _, c := range selectContainers(o, services, nil) {
		id, stopping := stops[c.Name]
		if isUp(c) && !stopping {
			continue
		}
		op := &Op{Kind: OpRemove, Resource: ResContainer, Name: c.Name, Service: c.Service, Number: c.Number}
		if stopping {
			op.Deps = []int{id}
		}
		plan.add(op)
	}
	return plan
}

// isUp says whether the container has a live task, paused or not.
func isUp(c Container) bool { return c.State == StateRunning || c.State == StatePaused }

// selectContainers returns the service containers (one-offs excluded) of
// the services, all services when none is named, that filter accepts.
func selectContainers(o Observed, services []string, filter func(Container) bool) []Container {
	var out []Container
	for _, c := range o.Containers {
		if c.Oneoff || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		if filter == nil || filter(c) {
			out = append(out, c)
		}
	}
	return out
}

// serviceNames is services, or every service that has a container.
func serviceNames(o Observed, services []string) []string {
	if len(services) > 0 {
		return slices.Clone(services)
	}
	var out []string
	for _, c := range o.Containers {
		if !c.Oneoff && !slices.Contains(out, c.Service) {
			out = append(out, c.Service)
		}
	}
	sort.Strings(out)
	return out
}

// depsOf reads each service's dependencies from its containers' labels.
func depsOf(cs []Container) map[string][]Dep {
	out := map[string][]Dep{}
	for _, c := range cs {
		if _, ok := out[c.Service]; !ok && !c.Oneoff {
			out[c.Service] = depsFromLabel(c.Labels[project.LabelDependsOn])
		}
	}
	return out
}

func dependentsOf(cs []Container) map[string][]string {
	dependents := map[string][]string{}
	for svc, ds := range depsOf(cs) {
		for _, d := range ds {
			if !slices.Contains(dependents[d.Service], svc) {
				dependents[d.Service] = append(dependents[d.Service], svc)
			}
		}
	}
	return dependents
}

// withDependencies is the services and, transitively, the services they
// depend on that have containers.
func withDependencies(o Observed, services []string, deps map[string][]Dep) []string {
	selected := serviceNames(o, services)
	edges := map[string][]string{}
	for svc, ds := range deps {
		for _, d := range ds {
			if len(o.containersOf(d.Service)) > 0 {
				edges[svc] = append(edges[svc], d.Service)
			}
		}
	}
	for _, s := range slices.Clone(selected) {
		for _, d := range reachable(s, edges) {
			if !slices.Contains(selected, d) {
				selected = append(selected, d)
			}
		}
	}
	return selected
}

// reachable lists the services reachable from s along edges, s excluded.
func reachable(s string, edges map[string][]string) []string {
	seen := map[string]bool{s: true}
	var out []string
	queue := []string{s}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range edges[cur] {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
				queue = append(queue, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// dependencyOrder sorts services so that each comes after its selected
// dependencies; ties by name. A cycle, impossible in a loaded project, is
// broken where it is found.
func dependencyOrder(services []string, deps map[string][]Dep, seen map[string]bool) []string {
	if seen == nil {
		seen = map[string]bool{}
	}
	sorted := slices.Clone(services)
	sort.Strings(sorted)
	var out []string
	var visit func(s string)
	visit = func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, d := range deps[s] {
			if slices.Contains(services, d.Service) {
				visit(d.Service)
			}
		}
		out = append(out, s)
	}
	for _, s := range sorted {
		visit(s)
	}
	return out
}

// Stop stops the services' containers with their stop signal and grace
// period, then SIGKILL; the containers stay, exited.
func (e *Engine) Stop(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return PlanStop(o, req.Services), nil
	})
}

// Start starts the services' existing containers that are not running.
func (e *Engine) Start(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return PlanStart(o, req.Services)
	})
}

// Restart stops and starts the services' containers.
func (e *Engine) Restart(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		return PlanRestart(o, req.Services, req.NoDeps), nil
	})
}

// Kill sends a signal to the main process of the services' running
// containers.
func (e *Engine) Kill(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return PlanEach(o, req.Services, OpKill, isUp), nil
	})
}

// Pause freezes the services' running containers.
func (e *Engine) Pause(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return PlanEach(o, req.Services, OpPause, func(c Container) bool { return c.State == StateRunning }), nil
	})
}

// Unpause thaws the services' paused containers.
func (e *Engine) Unpause(ctx context.Context, projectName string, req LifecycleRequest) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, false, func(o Observed) (*Plan, error) {
		return PlanEach(o, req.Services, OpUnpause, func(c Container) bool { return c.State == StatePaused }), nil
	})
}

// Remove removes the services' stopped containers (running ones too with
// req.Stop, stopped first), their network attachments and generated files,
// and with req.Volumes their anonymous volumes. confirm sees the names
// before anything changes and may refuse.
func (e *Engine) Remove(ctx context.Context, projectName string, req LifecycleRequest, confirm func(names []string) (bool, error)) (*Plan, error) {
	return e.runLifecycle(ctx, projectName, req, true, func(o Observed) (*Plan, error) {
		plan := PlanRemove(o, req.Services, req.Stop)
		var names []string
		for _, op := range plan.Ops {
			if op.Kind == OpRemove {
				names = append(names, op.Name)
			}
		}
		if len(names) == 0 || req.DryRun || confirm == nil {
			return plan, nil
		}
		ok, err := confirm(names)
		if err != nil || !ok {
			return nil, err
		}
		return plan, nil
	})
}

// runLifecycle observes the project's containers, plans and executes;
// commands that change what up would plan hold the project's lock.
func (e *Engine) runLifecycle(ctx context.Context, projectName string, req LifecycleRequest, lock bool, planFn func(Observed) (*Plan, error)) (*Plan, error) {
	rt, err := e.lifecycle()
	if err != nil {
		return nil, err
	}
	if lock {
		unlock, err := e.lock(ctx, projectName)
		if err != nil {
			return nil, err
		}
		defer unlock()
	} else if err := project.ValidateName(projectName); err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	plan, err := planFn(Observed{Containers: cs})
	if err != nil || plan == nil || req.DryRun {
		return plan, err
	}
	r := &lifecycleRunner{e: e, rt: rt, projectName: projectName, req: req, byName: map[string]Container{}}
	for _, c := range cs {
		r.byName[c.Name] = c
	}
	return plan, Execute(ctx, plan, r, e.parallel(), lifecycleSink{progress.Or(e.Progress)})
}

// lifecycleRunner carries out the lifecycle ops on observed containers.
type lifecycleRunner struct {
	e           *Engine
	rt          lifecycleRuntime
	projectName string
	req         LifecycleRequest
	byName      map[string]Container
}

func (r *lifecycleRunner) Run(ctx context.Context, op *Op) error {
	if isWait(op.Kind) {
		return r.e.waitService(ctx, r.projectName, op.Service, op.Kind)
	}
	c, ok := r.byName[op.Name]
	if !ok {
		return fmt.Errorf("container %s is not part of the project", op.Name)
	}
	if err := r.run(ctx, op.Kind, c); err != nil {
		return fmt.Errorf("service %q: %w", c.Service, err)
	}
	return nil
}

func (r *lifecycleRunner) run(ctx context.Context, kind OpKind, c Container) error {
	switch kind {
	case OpStop:
		return r.e.stopContainer(ctx, r.rt, c, r.req.Timeout)
	case OpStart:
		return r.e.startContainer(ctx, c.ID)
	case OpRestart:
		if err := r.e.stopContainer(ctx, r.rt, c, r.req.Timeout); err != nil {
			return err
		}
		return r.e.startContainer(ctx, c.ID)
	case OpKill:
		return r.kill(ctx, c)
	case OpPause:
		return r.rt.Pause(ctx, c.ID)
	case OpUnpause:
		return r.rt.Resume(ctx, c.ID)
	case OpRemove:
		return r.e.removeContainer(ctx, c, r.req.Timeout, !r.req.Volumes)
	}
	return fmt.Errorf("unknown operation %s", kind)
}

// kill signals the container's main process. SIGKILL keeps the container
// down whatever its restart policy and reaches a paused one too, as with
// Docker; other signals leave both alone.
func (r *lifecycleRunner) kill(ctx context.Context, c Container) error {
	sig := r.req.Signal
	if sig == "" {
		sig = "SIGKILL"
	}
	s, err := signal.ParseSignal(sig)
	if err != nil {
		return err
	}
	if s == syscall.SIGKILL {
		if err := r.e.markStopping(ctx, c); err != nil {
			return err
		}
	}
	if err := r.rt.Kill(ctx, c.ID, sig); err != nil {
		return err
	}
	if s == syscall.SIGKILL && c.State == StatePaused {
		return r.rt.Resume(ctx, c.ID) // a frozen process dies once thawed
	}
	return nil
}

// stopContainer stops a container's task with its stop signal and grace
// period and keeps the exited task, so ps shows its exit code.
func (e *Engine) stopContainer(ctx context.Context, rt lifecycleRuntime, c Container, timeout *time.Duration) error {
	// marked even when it is not up: an exited container may be waiting
	// for its restart policy's back-off, and stop must cancel that restart
	if err := e.markStopping(ctx, c); err != nil {
		return err
	}
	if !isUp(c) {
		return nil
	}
	return rt.StopContainer(ctx, c.ID, c.Labels[LabelStopSignal], stopGrace(c, timeout))
}

// markStopping labels a container a person stops, as removeContainer
// does: the supervisor and containerd's restart monitor leave it down, and
// a berth killed mid-stop leaves a container the next up starts again.
func (e *Engine) markStopping(ctx context.Context, c Container) error {
	labels := map[string]string{LabelStopping: "true"}
	if _, ok := c.Labels[restartStatusLabel]; ok {
		labels[restartStatusLabel] = "stopped"
	}
	if err := e.Runtime.SetLabels(ctx, c.ID, labels); err != nil && !ctrd.IsNotFound(err) {
		return err
	}
	return nil
}

// restartStatusLabel is what containerd's restart monitor restarts by.
const restartStatusLabel = "containerd.io/restart.status"

// stopGrace is --timeout, else the service's stop_grace_period, else
// Docker's 10 s.
func stopGrace(c Container, timeout *time.Duration) time.Duration {
	if timeout != nil {
		return *timeout
	}
	if d, err := time.ParseDuration(c.Labels[LabelStopTimeout]); err == nil {
		return d
	}
	return defaultStopGrace
}

// lifecycleSink names the lifecycle ops' progress as Docker Compose does:
// the executor knows only the reconciler's verbs and reports others by
// their kind.
type lifecycleSink struct{ progress.Sink }

var lifecycleWords = map[string][2]string{
	string(OpRestart): {"Restarting", "Started"},
	string(OpKill):    {"Killing", "Killed"},
	string(OpPause):   {"Pausing", "Paused"},
	string(OpUnpause): {"Unpausing", "Unpaused"},
}

func (s lifecycleSink) Event(ev progress.Event) {
	if w, ok := lifecycleWords[ev.Status]; ok {
		ev.Status = w[0]
		if ev.Done {
			ev.Status = w[1]
		}
	}
	s.Sink.Event(ev)
}

// WaitResult is the exit of one container that wait watched.
type WaitResult struct {
	Container Container
	ExitCode  int
}

// Wait blocks until the services' started containers have exited and
// reports each exit as it happens; containers that had already exited
// come first, by exit time.
func (e *Engine) Wait(ctx context.Context, projectName string, services []string, exited func(WaitResult)) error {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return err
	}
	var waiting, done []Container
	for _, c := range cs {
		if len(services) > 0 && !slices.Contains(services, c.Service) {
			continue
		}
		switch {
		case isUp(c):
			waiting = append(waiting, c)
		case c.State == StateExited:
			done = append(done, c)
		}
	}
	if len(waiting)+len(done) == 0 {
		return fmt.Errorf("no containers to wait for: service(s) %s have no started container in project %q", strings.Join(services, ", "), projectName)
	}
	sort.SliceStable(done, func(i, j int) bool { return done[i].ExitedAt.Before(done[j].ExitedAt) })
	for _, c := range done {
		exited(WaitResult{Container: c, ExitCode: c.ExitCode})
	}
	type outcome struct {
		c    Container
		code int
		err  error
	}
	results := make(chan outcome, len(waiting))
	for _, c := range waiting {
		go func() {
			code, err := e.Runtime.Wait(ctx, c.ID)
			results <- outcome{c, code, err}
		}()
	}
	var errs []error
	for range waiting {
		r := <-results
		if r.err != nil {
			errs = append(errs, fmt.Errorf("service %q: %w", r.c.Service, r.err))
			continue
		}
		exited(WaitResult{Container: r.c, ExitCode: r.code})
	}
	return errors.Join(errs...)
}

// ProcessList is one container's processes, as docker top shows them.
type ProcessList struct {
	Name      string
	Titles    []string
	Processes [][]string
}

// topTitles are the columns of `ps -ef`, which docker top runs.
var topTitles = []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}

// Top lists the processes of the services' running containers, read from
// /proc for the PIDs containerd reports.
func (e *Engine) Top(ctx context.Context, projectName string, services []string) ([]ProcessList, error) {
	rt, err := e.lifecycle()
	if err != nil {
		return nil, err
	}
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	proc := procFS{root: "/proc", user: userName}
	var out []ProcessList
	for _, c := range cs {
		if !isUp(c) || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		pids, err := rt.Pids(ctx, c.ID)
		if ctrd.IsNotFound(err) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", c.Service, err)
		}
		rows, err := proc.table(pids, time.Now())
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", c.Service, err)
		}
		out = append(out, ProcessList{Name: c.Name, Titles: topTitles, Processes: rows})
	}
	return out, nil
}

// clockTicks is USER_HZ, the unit of CPU times in /proc on every Linux
// architecture berth runs on.
const clockTicks = 100

// procFS reads processes from a /proc tree: the host's, or a fake one in
// tests.
type procFS struct {
	root string
	user func(uid string) string
}

// procStat holds the fields of /proc/PID/stat that ps -ef shows.
type procStat struct {
	comm         string
	ppid         uint64
	tty          uint64
	utime, stime uint64 // clock ticks
	start        uint64 // clock ticks after boot
}

// table returns a `ps -ef` row per PID, sorted by PID; processes that
// exit while being read are left out.
func (p procFS) table(pids []uint32, now time.Time) ([][]string, error) {
	boot, err := p.bootTime()
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(pids)
	slices.Sort(sorted)
	rows := [][]string{}
	for _, pid := range sorted {
		row, err := p.process(pid, boot, now)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (p procFS) bootTime() (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("read boot time: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("read boot time: %w", err)
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("read boot time: no btime in %s", filepath.Join(p.root, "stat"))
}

func (p procFS) process(pid uint32, boot, now time.Time) ([]string, error) {
	dir := filepath.Join(p.root, strconv.FormatUint(uint64(pid), 10))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	st, err := parseProcStat(string(b))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return nil, err
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil, err
	}
	started := boot.Add(time.Duration(st.start) * time.Second / clockTicks)
	cpu := st.utime + st.stime
	return []string{
		p.user(statusUID(string(status))),
		strconv.FormatUint(uint64(pid), 10),
		strconv.FormatUint(st.ppid, 10),
		strconv.Itoa(cpuPercent(cpu, now.Sub(started))),
		startTime(started, now),
		ttyName(st.tty),
		cpuTime(cpu),
		command(cmdline, st.comm),
	}, nil
}

// parseProcStat reads /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from its last ')'.
func parseProcStat(s string) (procStat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	var errs []error
	num := func(i int) uint64 {
		n, err := strconv.ParseUint(f[i], 10, 64)
		errs = append(errs, err)
		return n
	}
	st := procStat{comm: s[open+1 : end], ppid: num(1), tty: num(4), utime: num(11), stime: num(12), start: num(19)}
	return st, errors.Join(errs...)
}

// statusUID is the effective UID of /proc/PID/status, which ps shows.
func statusUID(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(v); len(f) >= 2 {
				return f[1]
			}
		}
	}
	return "?"
}

// cpuPercent is ps's C: CPU time over lifetime, in whole percent, at most 99.
func cpuPercent(ticks uint64, lifetime time.Duration) int {
	if lifetime <= 0 {
		return 0
	}
	return min(int(float64(ticks)/clockTicks/lifetime.Seconds()*100), 99)
}

// startTime is ps's STIME: the time today, the date this year, else the year.
func startTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	switch {
	case t.Year() != now.Year():
		return t.Format("2006")
	case t.YearDay() != now.YearDay():
		return t.Format("Jan02")
	}
	return t.Format("15:04")
}

// ttyName decodes stat's tty_nr as ps names it.
func ttyName(nr uint64) string {
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", minor+(major-136)*256)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	}
	return "?"
}

// cpuTime is ps's TIME: [DD-]HH:MM:SS of CPU.
func cpuTime(ticks uint64) string {
	s := ticks / clockTicks
	if d := s / 86400; d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, s/3600%24, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// command is the NUL-separated command line joined by spaces, or [comm]
// for processes without one.
func command(cmdline []byte, comm string) string {
	s := strings.TrimRight(string(cmdline), "\x00")
	if s == "" {
		return "[" + comm + "]"
	}
	return strings.ReplaceAll(s, "\x00", " ")
}

// userName names a UID from the host's user database, as docker top (ps
// on the host) does; unknown UIDs stay numbers.
func userName(uid string) string {
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// ContainerStats is one container's resource use, as docker stats shows it.
type ContainerStats struct {
	ID, Name, Service      string
	CPUPercent, MemPercent float64
	MemUsage, MemLimit     uint64
	NetRx, NetTx           uint64
	BlockRead, BlockWrite  uint64
	PIDs                   uint64
}

// StatsRequest is stats with its flags.
type StatsRequest struct {
	Services []string
	// All reports stopped containers too, with zero use.
	All      bool
	NoStream bool
	// Interval is the time between readings; 1 s when zero.
	Interval time.Duration
}

// statsSample is one reading of a container's counters.
type statsSample struct {
	at           time.Time
	m            ctrd.Metrics
	netRx, netTx uint64
}

// Stats reports the services' resource use every interval until ctx ends;
// with NoStream it reports once. CPU use is measured between two
// readings, so the first report comes after one interval.
func (e *Engine) Stats(ctx context.Context, projectName string, req StatsRequest, report func([]ContainerStats) error) error {
	rt, err := e.lifecycle()
	if err != nil {
		return err
	}
	interval := req.Interval
	if interval <= 0 {
		interval = time.Second
	}
	memTotal := hostMemTotal("/proc/meminfo")
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	prev := map[string]statsSample{}
	for first := true; ; first = false {
		rows, next, err := e.readStats(ctx, rt, projectName, req, prev, memTotal)
		if err != nil {
			return err
		}
		prev = next
		if !first {
			if err := report(rows); err != nil || req.NoStream {
				return err
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (e *Engine) readStats(ctx context.Context, rt lifecycleRuntime, projectName string, req StatsRequest, prev map[string]statsSample, memTotal uint64) ([]ContainerStats, map[string]statsSample, error) {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, nil, err
	}
	next := map[string]statsSample{}
	rows := []ContainerStats{}
	for _, c := range cs {
		if len(req.Services) > 0 && !slices.Contains(req.Services, c.Service) {
			continue
		}
		row := ContainerStats{ID: c.ID, Name: c.Name, Service: c.Service}
		var s statsSample
		if isUp(c) {
			s, err = sampleStats(ctx, rt, c)
		}
		if !isUp(c) || err != nil {
			// stopped, or exited since it was listed
			if req.All {
				rows = append(rows, row)
			}
			continue
		}
		next[c.ID] = s
		rows = append(rows, computeStats(row, prev[c.ID], s, memTotal))
	}
	return rows, next, nil
}

func sampleStats(ctx context.Context, rt lifecycleRuntime, c Container) (statsSample, error) {
	m, err := rt.Metrics(ctx, c.ID)
	if err != nil {
		return statsSample{}, err
	}
	s := statsSample{at: time.Now(), m: m}
	// the host's interfaces are not the container's traffic
	if c.Labels[LabelNetNS] != "host" && c.PID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", c.PID)); err == nil {
			s.netRx, s.netTx = parseNetDev(string(b))
		}
	}
	return s, nil
}

// computeStats turns two readings into Docker's figures: CPU % of one core
// over the interval, memory without inactive file cache, a limit no
// larger than the host's memory.
func computeStats(row ContainerStats, prev, cur statsSample, memTotal uint64) ContainerStats {
	if !prev.at.IsZero() && cur.at.After(prev.at) && cur.m.CPUNanos >= prev.m.CPUNanos {
		row.CPUPercent = float64(cur.m.CPUNanos-prev.m.CPUNanos) / float64(cur.at.Sub(prev.at).Nanoseconds()) * 100
	}
	usage := cur.m.MemUsage
	if cur.m.MemInactive < usage {
		usage -= cur.m.MemInactive
	}
	limit := cur.m.MemLimit
	if limit == 0 || (memTotal > 0 && limit > memTotal) {
		limit = memTotal
	}
	row.MemUsage, row.MemLimit = usage, limit
	if limit > 0 {
		row.MemPercent = float64(usage) / float64(limit) * 100
	}
	row.NetRx, row.NetTx = cur.netRx, cur.netTx
	row.BlockRead, row.BlockWrite, row.PIDs = cur.m.BlockRead, cur.m.BlockWrite, cur.m.PIDs
	return row
}

// parseNetDev sums received and sent bytes of /proc/PID/net/dev over every
// interface but loopback.
func parseNetDev(s string) (rx, tx uint64) {
	for _, line := range strings.Split(s, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || strings.TrimSpace(name) == "lo" || len(f) < 16 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 == nil && err2 == nil {
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx
}

// hostMemTotal is MemTotal of /proc/meminfo in bytes, 0 if unknown.
func hostMemTotal(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// ContainerEvent is an event of one of the project's containers, as
// docker compose events reports it.
type ContainerEvent struct {
	Time    time.Time
	Action  string
	ID      string
	Service string
	// Attributes are the container's name and image, and what the event
	// adds (exitCode for die).
	Attributes map[string]string
}

// WatchEvents streams the events of the services' containers (all of the
// project's when none is named) until ctx ends or fn fails.
func (e *Engine) WatchEvents(ctx context.Context, projectName string, services []string, fn func(ContainerEvent) error) error {
	rt, err := e.lifecycle()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := rt.Subscribe(ctx)
	// containers by ID; nil marks another project's
	known := map[string]*Container{}
	refresh := func() error {
		cs, err := e.Containers(ctx, projectName)
		for _, c := range cs {
			known[c.ID] = &c
		}
		return err
	}
	if err := refresh(); err != nil {
		return err
	}
	for {
		var ev ctrd.Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return streamEnd(ctx, errs)
		}
		c, seen := known[ev.ContainerID]
		if !seen || ev.Action == "create" {
			if err := refresh(); err != nil {
				return err
			}
			if c, seen = known[ev.ContainerID]; !seen {
				known[ev.ContainerID] = nil
			}
		}
		if c == nil || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		if err := fn(containerEvent(ev, *c)); err != nil {
			return err
		}
	}
}

func streamEnd(ctx context.Context, errs <-chan error) error {
	select {
	case err := <-errs:
		return err
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("containerd closed the event stream")
}

func containerEvent(ev ctrd.Event, c Container) ContainerEvent {
	attrs := map[string]string{"name": c.Name, "image": c.Image}
	maps.Copy(attrs, ev.Attributes)
	return ContainerEvent{Time: ev.Time, Action: ev.Action, ID: c.ID, Service: c.Service, Attributes: attrs}
}

// CopyRequest is cp: a copy between a service's container and the host.
type CopyRequest struct {
	Service string
	// Index picks one replica; 0 means the first one when copying from the
	// service and every replica when copying to it, as Docker Compose does.
	Index int
	// Oneoffs includes one-off containers (--all).
	Oneoffs       bool
	ContainerPath string
	// HostPath is a path on the host, or "-" for a tar stream on Stdin
	// (to the container) or Stdout (from it).
	HostPath    string
	ToContainer bool
	// Archive keeps owners; FollowLink copies what a symlink source points
	// to instead of the link.
	Archive, FollowLink bool
	Stdin               io.Reader
	Stdout              io.Writer
}

// Copy copies files and directories, recursively and with their modes,
// following docker cp's rules for where they land. It works through
// /proc/PID/root of a running container; every container path is resolved
// with the container's root as "/", so symlinks cannot lead out of it.
func (e *Engine) Copy(ctx context.Context, projectName string, req CopyRequest) error {
	targets, err := e.copyTargets(ctx, projectName, req)
	if err != nil {
		return err
	}
	hostPath := req.HostPath
	if hostPath != "-" && !filepath.IsAbs(hostPath) {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		hostPath = wd + "/" + hostPath // not Join: a trailing "/" or "/." matters
	}
	var replay *os.File
	if req.ToContainer && hostPath == "-" && len(targets) > 1 {
		// every replica gets the stream: keep it to read again
		if replay, err = os.CreateTemp("", "berth-cp-*.tar"); err != nil {
			return err
		}
		defer os.Remove(replay.Name())
		defer replay.Close()
		if _, err := io.Copy(replay, req.Stdin); err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
	}
	opts := copyOptions{archive: req.Archive, follow: req.FollowLink, warn: e.warn}
	sink := progress.Or(e.Progress)
	for _, c := range targets {
		id := fmt.Sprintf("%s:%s to %s", c.Name, req.ContainerPath, req.HostPath)
		if req.ToContainer {
			id = fmt.Sprintf("%s to %s:%s", req.HostPath, c.Name, req.ContainerPath)
		}
		sink.Event(progress.Event{ID: id, Status: "Copying"})
		stdin := req.Stdin
		if replay != nil {
			if _, err := replay.Seek(0, io.SeekStart); err != nil {
				return err
			}
			stdin = replay
		}
		if err := copyOne(c, req, hostPath, stdin, opts); err != nil {
			sink.Event(progress.Event{ID: id, Status: "Error", Text: err.Error(), Done: true, Err: true})
			return fmt.Errorf("service %q: copy %s: %w", req.Service, id, err)
		}
		sink.Event(progress.Event{ID: id, Status: "Copied", Done: true})
	}
	return nil
}

func copyOne(c Container, req CopyRequest, hostPath string, stdin io.Reader, opts copyOptions) error {
	root := fmt.Sprintf("/proc/%d/root", c.PID)
	switch {
	case req.ToContainer && hostPath == "-":
		return copyFromTar(stdin, root, req.ContainerPath, opts)
	case req.ToContainer:
		return copyPath("/", hostPath, root, req.ContainerPath, opts)
	case hostPath == "-":
		return copyToTar(req.Stdout, root, req.ContainerPath, opts)
	}
	return copyPath(root, req.ContainerPath, "/", hostPath, opts)
}

// copyTargets finds the running containers a copy goes through.
func (e *Engine) copyTargets(ctx context.Context, projectName string, req CopyRequest) ([]Container, error) {
	cs, err := e.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, c := range cs {
		if c.Service != req.Service || (c.Oneoff && (!req.Oneoffs || req.Index > 0)) || (req.Index > 0 && c.Number != req.Index) {
			continue
		}
		out = append(out, c)
	}
	switch {
	case len(out) == 0 && req.Index > 0:
		return nil, fmt.Errorf("service %q has no container with index %d", req.Service, req.Index)
	case len(out) == 0:
		return nil, fmt.Errorf("no container found for service %q", req.Service)
	}
	// service replicas by number, then one-offs
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Oneoff != out[j].Oneoff {
			return out[j].Oneoff
		}
		return out[i].Number < out[j].Number
	})
	if !req.ToContainer {
		out = out[:1]
	}
	for _, c := range out {
		if !isUp(c) || c.PID == 0 {
			return nil, fmt.Errorf("service %q: container %s is %s: berth cp works through a running container; start it with 'berth start %s'", req.Service, c.Name, c.State, req.Service)
		}
	}
	return out, nil
}

type copyOptions struct {
	archive, follow bool
	warn            func(string)
}

// copyArg is a cp path as docker cp reads it.
type copyArg struct {
	clean    string // cleaned and absolute within its root
	contents bool   // ends in "/.": the directory's content, not the directory
	dirOnly  bool   // ends in "/": must be a directory
}

// parseCopyPath reads a path relative to its root's "/", before cleaning
// loses the trailing "/" or "/.".
func parseCopyPath(p string) copyArg {
	return copyArg{
		clean:    path.Clean("/" + p),
		contents: p == "." || strings.HasSuffix(p, "/."),
		dirOnly:  strings.HasSuffix(p, "/"),
	}
}

// base is the name the copy gets inside an existing directory; "." means
// the content goes there directly.
func (a copyArg) base() string {
	if a.contents || a.clean == "/" {
		return "."
	}
	return path.Base(a.clean)
}

// copyEnd is one side of a copy: an entry of a directory opened as an
// os.Root, so that nothing done through it leaves the directory; "." is
// the directory itself.
type copyEnd struct {
	dir  *os.Root
	name string
}

// resolveIn follows the symlinks of p as if top were "/" and returns the
// path they lead to, relative to top.
func resolveIn(top, p string) (string, error) {
	full, err := securejoin.SecureJoin(top, p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(top, full)
	if err != nil {
		return "", err
	}
	return path.Clean("/" + rel), nil
}

// openDir opens directory p under top, resolving symlinks with top as "/"
// without a window for them to be swapped (openat2 RESOLVE_IN_ROOT).
func openDir(top, p string) (*os.Root, error) {
	h, err := pathrs.OpenInRoot(top, p)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", h.Fd()))
}

// openEntry opens the parent directory of p and names p in it.
func openEntry(top, p string) (copyEnd, error) {
	if p == "/" {
		dir, err := openDir(top, "/")
		return copyEnd{dir, "."}, err
	}
	dir, err := openDir(top, path.Dir(p))
	return copyEnd{dir, path.Base(p)}, err
}

// openSource opens what a copy reads. The last element is a symlink to
// copy as such unless follow is set or the path must be a directory.
func openSource(top string, a copyArg, follow bool) (copyEnd, fs.FileInfo, error) {
	target := a.clean
	if follow || a.contents || a.dirOnly {
		var err error
		if target, err = resolveIn(top, a.clean); err != nil {
			return copyEnd{}, nil, err
		}
	}
	end, err := openEntry(top, target)
	if err != nil {
		return copyEnd{}, nil, fmt.Errorf("%s: %w", a.clean, noSuch(err))
	}
	fi, err := end.dir.Lstat(end.name)
	if err == nil && (a.contents || a.dirOnly) && !fi.IsDir() {
		err = fmt.Errorf("%s: not a directory", a.clean)
	}
	if err == nil && a.contents {
		var sub *os.Root
		sub, err = end.dir.OpenRoot(end.name)
		end.dir.Close()
		end = copyEnd{sub, "."}
	}
	if err != nil {
		if end.dir != nil {
			end.dir.Close()
		}
		return copyEnd{}, nil, fmt.Errorf("%s: %w", a.clean, noSuch(err))
	}
	return end, fi, nil
}

func noSuch(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return errors.New("no such file or directory")
	}
	return err
}

// openDest decides where a copy lands, by docker cp's rules: into an
// existing directory under the source's name (or its content, for "/."),
// over an existing file, or as a new entry whose parent must exist.
// Symlinks in the destination are followed, within its root.
func openDest(top string, a copyArg, src fs.FileInfo, srcBase string) (copyEnd, error) {
	target, err := resolveIn(top, a.clean)
	if err != nil {
		return copyEnd{}, err
	}
	end, err := openEntry(top, target)
	if err != nil {
		return copyEnd{}, fmt.Errorf("destination directory %s does not exist", path.Dir(a.clean))
	}
	fi, err := end.dir.Lstat(end.name)
	switch {
	case err == nil && fi.IsDir():
		dir := end.dir
		if end.name != "." {
			dir, err = end.dir.OpenRoot(end.name)
			end.dir.Close()
			if err != nil {
				return copyEnd{}, err
			}
		}
		return copyEnd{dir, srcBase}, nil
	case err == nil && src.IsDir():
		err = fmt.Errorf("cannot copy a directory to a file: %s", a.clean)
	case err == nil && a.dirOnly:
		err = fmt.Errorf("%s: not a directory", a.clean)
	case err == nil:
		return end, nil
	case errors.Is(err, fs.ErrNotExist) && a.dirOnly && !src.IsDir():
		err = fmt.Errorf("destination directory %s does not exist", a.clean)
	case errors.Is(err, fs.ErrNotExist):
		return end, nil
	}
	end.dir.Close()
	return copyEnd{}, err
}

// copyPath copies srcPath under srcTop to dstPath under dstTop; each top is
// "/" of its side ("/" for the host, /proc/PID/root for a container).
func copyPath(srcTop, srcPath, dstTop, dstPath string, o copyOptions) error {
	sa, da := parseCopyPath(srcPath), parseCopyPath(dstPath)
	src, fi, err := openSource(srcTop, sa, o.follow)
	if err != nil {
		return err
	}
	defer src.dir.Close()
	dst, err := openDest(dstTop, da, fi, sa.base())
	if err != nil {
		return err
	}
	defer dst.dir.Close()
	return copyTree(src.dir, src.name, dst.dir, dst.name, o)
}

// copyTree copies an entry and, for a directory, everything under it;
// symlinks are copied as links and never followed.
func copyTree(src *os.Root, sname string, dst *os.Root, dname string, o copyOptions) error {
	fi, err := src.Lstat(sname)
	if err != nil {
		return err
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if err := makeDir(dst, dname); err != nil {
			return err
		}
		names, err := readDirNames(src, sname)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := copyTree(src, path.Join(sname, n), dst, path.Join(dname, n), o); err != nil {
				return err
			}
		}
		if dname == "." {
			return nil // an existing directory receiving content keeps its own metadata
		}
	case mode.IsRegular():
		if err := copyFile(src, sname, dst, dname); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := src.Readlink(sname)
		if err != nil {
			return err
		}
		if err := clearFor(dst, dname, mode); err != nil {
			return err
		}
		if err := dst.Symlink(target, dname); err != nil {
			return err
		}
	default:
		o.warnf("skipping %s: %s files are not copied", sname, mode.Type())
		return nil
	}
	return setMeta(dst, dname, metaOf(fi), o)
}

func copyFile(src *os.Root, sname string, dst *os.Root, dname string) error {
	in, err := src.OpenFile(sname, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFile(dst, dname, in)
}

// writeFile writes a regular file, truncating an existing one in place (a
// bind-mounted file stays mounted) and replacing anything else.
func writeFile(dst *os.Root, name string, r io.Reader) error {
	if err := clearFor(dst, name, 0); err != nil {
		return err
	}
	out, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// clearFor makes way for a new entry of the given mode.
func clearFor(root *os.Root, name string, mode fs.FileMode) error {
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir() && mode.IsDir():
		return nil
	case fi.IsDir():
		return fmt.Errorf("cannot overwrite directory %s with a non-directory", name)
	case mode.IsDir():
		return fmt.Errorf("cannot overwrite non-directory %s with a directory", name)
	case fi.Mode().IsRegular() && mode.IsRegular():
		return nil
	}
	return root.Remove(name)
}

func makeDir(root *os.Root, name string) error {
	if err := clearFor(root, name, fs.ModeDir); err != nil {
		return err
	}
	if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func readDirNames(root *os.Root, name string) ([]string, error) {
	d, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// meta is what a copy keeps of an entry beside its content.
type meta struct {
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
}

func metaOf(fi fs.FileInfo) meta {
	m := meta{mode: fi.Mode(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.uid, m.gid = int(st.Uid), int(st.Gid)
	}
	return m
}

// setMeta applies mode and times, and owners in archive mode; without it
// new entries belong to root, the container's root user, as with docker cp.
func setMeta(root *os.Root, name string, m meta, o copyOptions) error {
	if o.archive {
		if err := root.Lchown(name, m.uid, m.gid); err != nil {
			return err
		}
	}
	if m.mode&fs.ModeSymlink != 0 {
		return nil
	}
	if err := root.Chmod(name, m.mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return root.Chtimes(name, m.mtime, m.mtime)
}

func (o copyOptions) warnf(format string, args ...any) {
	if o.warn != nil {
		o.warn(fmt.Sprintf(format, args...))
	}
}

// copyToTar writes the source as a tar stream, named by its base name (its
// content at the top for "/.").
func copyToTar(w io.Writer, top, p string, o copyOptions) error {
	a := parseCopyPath(p)
	src, _, err := openSource(top, a, o.follow)
	if err != nil {
		return err
	}
	defer src.dir.Close()
	name := a.base()
	if name == "." {
		name = ""
	}
	tw := tar.NewWriter(w)
	if err := tarTree(tw, src.dir, src.name, name, o); err != nil {
		return err
	}
	return tw.Close()
}

func tarTree(tw *tar.Writer, root *os.Root, sname, tname string, o copyOptions) error {
	fi, err := root.Lstat(sname)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		o.warnf("skipping %s: sockets are not copied", sname)
		return nil
	}
	if tname != "" {
		if err := tarEntry(tw, root, sname, tname, fi); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return nil
	}
	names, err := readDirNames(root, sname)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := tarTree(tw, root, path.Join(sname, n), path.Join(tname, n), o); err != nil {
			return err
		}
	}
	return nil
}

func tarEntry(tw *tar.Writer, root *os.Root, sname, tname string, fi fs.FileInfo) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = root.Readlink(sname); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	// names are the host's, not the container's: owners go by number
	hdr.Name, hdr.Uname, hdr.Gname = tname, "", ""
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := root.OpenFile(sname, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// copyFromTar extracts a tar stream into an existing directory; entry
// names cannot climb out of it and links in it cannot be followed out.
func copyFromTar(r io.Reader, top, p string, o copyOptions) error {
	a := parseCopyPath(p)
	target, err := resolveIn(top, a.clean)
	if err != nil {
		return err
	}
	dir, err := openDir(top, target)
	if err != nil {
		return fmt.Errorf("destination %s must be an existing directory when copying a tar stream: %w", a.clean, noSuch(err))
	}
	defer dir.Close()
	tr := tar.NewReader(r)
	var dirs []*tar.Header
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar stream: %w", err)
		}
		name := tarName(hdr.Name)
		if name == "" {
			continue
		}
		if err := extract(dir, name, hdr, tr, o); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	// directories last: their content changed their times, and a read-only
	// mode would have kept the content out
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setMeta(dir, tarName(dirs[i].Name), tarMeta(dirs[i]), o); err != nil {
			return err
		}
	}
	return nil
}

// tarName confines an entry name to the extraction directory: "" is the
// directory itself.
func tarName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func tarMeta(hdr *tar.Header) meta {
	return meta{mode: hdr.FileInfo().Mode(), uid: hdr.Uid, gid: hdr.Gid, mtime: hdr.ModTime}
}

func extract(dir *os.Root, name string, hdr *tar.Header, r io.Reader, o copyOptions) error {
	if parent := path.Dir(name); parent != "." {
		if err := dir.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return makeDir(dir, name) // metadata once the content is in
	case tar.TypeReg:
		if err := writeFile(dir, name, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := clearFor(dir, name, fs.ModeSymlink); err != nil {
			return err
		}
		if err := dir.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		if err := clearFor(dir, name, fs.ModeSymlink); err != nil {
			return err
		}
		return dir.Link(tarName(hdr.Linkname), name)
	default:
		o.warnf("skipping %s: tar entries of type %q are not copied", name, hdr.Typeflag)
		return nil
	}
	return setMeta(dir, name, tarMeta(hdr), o)
}
