// Package runstate is what berth keeps of its containers beside containerd while they
// live: the stop mark and the log rotation in each container's state directory, the
// per-project locks that up, down and the helper's restarts take, and the containers as
// containerd's answer and those files show them together. It knows nothing of Compose
// files, so that the helper, which restarts and probes containers, links without the
// loader.
package runstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/procfs"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/observed"
)

// Lister lists containers by label and finds one by ID; *ctrd.Client implements it.
type Lister interface {
	ListContainers(ctx context.Context, labels map[string]string) ([]ctrd.ContainerInfo, error)
	// Container returns one container, or an error wrapping ctrd.ErrContainerNotFound.
	Container(ctx context.Context, id string) (ctrd.ContainerInfo, error)
}

// Processes tells when a process started; internal/procfs implements it.
type Processes interface {
	StartedAt(pid uint32, now time.Time) (time.Time, error)
}

// Store reads and keeps the state of one namespace's containers under DataRoot.
type Store struct {
	DataRoot string
	Runtime  Lister
	// Processes tells when a container's process started; nil reads the host's /proc.
	Processes Processes
	// Logger is the berth-logger binary the shims start to capture each container's
	// output; empty writes plain files (tests). LoggerErr says why there is none:
	// starting a container fails with it.
	Logger    string
	LoggerErr error
}

// ContainerDir holds a container's generated files (hosts, resolv.conf), its state
// and its log.
func (s Store) ContainerDir(name string) string {
	return filepath.Join(s.DataRoot, "containers", name)
}

// LogPath is where a container's output is stored (berth-logger's JSON lines, rotated
// beside it).
func (s Store) LogPath(name string) string {
	return filepath.Join(s.ContainerDir(name), "container.log")
}

// Containers lists the containers with these labels, sorted by name.
func (s Store) Containers(ctx context.Context, labels map[string]string) ([]observed.Container, error) {
	infos, err := s.Runtime.ListContainers(ctx, labels)
	if err != nil {
		return nil, err
	}
	out := make([]observed.Container, 0, len(infos))
	for _, info := range infos {
		out = append(out, s.FromInfo(info))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Container finds berth's container of that name (its containerd ID): one record
// and one task, where Containers would ask containerd about the whole namespace.
func (s Store) Container(ctx context.Context, name string) (observed.Container, bool, error) {
	info, err := s.Runtime.Container(ctx, name)
	if errors.Is(err, ctrd.ErrContainerNotFound) {
		return observed.Container{}, false, nil
	}
	if err != nil {
		return observed.Container{}, false, err
	}
	if record.Decode(info.Labels).Name != name {
		return observed.Container{}, false, nil // not one of berth's
	}
	return s.FromInfo(info), true, nil
}

// FromInfo reads a container from containerd's answer and its state file; labels are
// the source of truth, so ps, logs and down need no Compose file.
func (s Store) FromInfo(info ctrd.ContainerInfo) observed.Container {
	c := observed.Container{Container: record.Decode(info.Labels), ID: info.ID, Labels: info.Labels}
	if c.Name == "" {
		c.Name = info.ID
	}
	c.Image, c.PID, c.Created, c.ExitCode, c.ExitedAt = info.Image, info.PID, info.Created, info.ExitCode, info.ExitedAt
	st, found := s.readStateFile(c.Name)
	c.StartedAt, c.Stopping = st.StartedAt, st.Stopping
	if !found {
		c.StartedAt, c.Stopping = c.LegacyStartedAt, c.LegacyStopping
	}
	// a running task's process knows when it started, restarts by the helper or
	// containerd included: no file is written per start
	if info.PID != 0 && (info.Status == ctrd.TaskRunning || info.Status == ctrd.TaskPaused) {
		if t, err := s.processes().StartedAt(info.PID, time.Now()); err == nil {
			// a start since an old berth wrote its labels lifted their stop mark
			if !found && t.After(c.LegacyStartedAt) {
				c.Stopping = false
			}
			c.StartedAt = t
		}
	}
	switch info.Status {
	case ctrd.TaskRunning:
		c.State = observed.StateRunning
	case ctrd.TaskPaused:
		c.State = observed.StatePaused
	case ctrd.TaskStopped:
		c.State = observed.StateExited
	default:
		c.State = observed.StateCreated
	}
	return c
}

func (s Store) processes() Processes {
	if s.Processes != nil {
		return s.Processes
	}
	return procfs.Host()
}

// Lock serialises up, down and the helper's restarts of one project: one lock per
// project, never a global one, so two projects proceed in parallel. The engine
// checks a name against Compose's rules first (project.ValidateName); here it only
// must make one file name.
func (s Store) Lock(ctx context.Context, project string) (func(), error) {
	if project == "" || project == "." || project == ".." || strings.ContainsAny(project, "/\x00") {
		return nil, fmt.Errorf("lock project %q: invalid project name", project)
	}
	dir := filepath.Join(s.DataRoot, "projects")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock project %q: %w", project, err)
	}
	if err := os.Chmod(s.DataRoot, 0o700); err != nil {
		return nil, fmt.Errorf("lock project %q: %w", project, err)
	}
	fl := flock.New(filepath.Join(dir, project+".lock"))
	ok, err := fl.TryLockContext(ctx, 50*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("lock project %q: %w", project, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// State is what changes while a container lives. Labels are written once, at
// creation: patching them cost a containerd round trip per change (up to four per
// start), so this lives in the container's state directory instead.
type State struct {
	// StartedAt was written at each start by berth up to issue 19's third round;
	// now the running process's start time is read instead (FromInfo).
	StartedAt time.Time `json:"startedAt,omitzero"`
	Stopping  bool      `json:"stopping,omitempty"`
}

func (s Store) stateFile(name string) string {
	return filepath.Join(s.ContainerDir(name), "state.json")
}

// ReadState reads the container's state; a missing or unreadable file is the zero
// state.
func (s Store) ReadState(name string) State {
	st, _ := s.readStateFile(name)
	return st
}

// readStateFile reads the state and whether the container has a state file.
func (s Store) readStateFile(name string) (st State, found bool) {
	b, err := os.ReadFile(s.stateFile(name))
	if err != nil {
		return st, false
	}
	_ = json.Unmarshal(b, &st)
	return st, true
}

// UpdateState changes the state of an existing container, writing only a change.
func (s Store) UpdateState(name string, change func(*State)) error {
	old := s.ReadState(name)
	st := old
	change(&st)
	if st == old {
		return nil // a missing file reads as the zero state too
	}
	if err := os.MkdirAll(s.ContainerDir(name), 0o700); err != nil {
		return err
	}
	// a crash of the machine stops every task: a stop mark it loses means nothing
	// after it (and ReadState takes an unreadable file as empty)
	return atomicfile.ReplaceJSON(s.stateFile(name), st, 0o600)
}

// DefaultRotation is the rotation of a service without logging options, and of a
// container without a rotation file.
func DefaultRotation() logs.RotateOptions {
	rot, _ := logs.ParseRotateOptions(nil)
	return rot
}

// RotationFile holds a container's log rotation when it is not the default.
func (s Store) RotationFile(name string) string {
	return filepath.Join(s.ContainerDir(name), "logging.json")
}

// SaveRotation keeps the container's log rotation for its later starts (LogDriver).
// The default needs no file, and one a killed berth left under the name must not
// apply: it is removed. Lost to a crash of the machine, the rotation falls back to
// the default (LogDriver ignores an unreadable file).
func (s Store) SaveRotation(name string, rot logs.RotateOptions) error {
	if rot == DefaultRotation() {
		if err := os.Remove(s.RotationFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.ReplaceJSON(s.RotationFile(name), rot, 0o600)
}

// LogDriver is how the container's output is captured, with the rotation saved at its
// creation.
func (s Store) LogDriver(name string) (ctrd.LogDriver, error) {
	rot := DefaultRotation()
	if b, err := os.ReadFile(s.RotationFile(name)); err == nil {
		_ = json.Unmarshal(b, &rot)
	}
	return s.LogDriverWith(name, rot)
}

// LogDriverWith is the log driver with this rotation.
func (s Store) LogDriverWith(name string, rot logs.RotateOptions) (ctrd.LogDriver, error) {
	if s.LoggerErr != nil {
		return ctrd.LogDriver{}, s.LoggerErr
	}
	if s.Logger == "" {
		return ctrd.LogDriver{File: s.LogPath(name)}, nil
	}
	return ctrd.LogDriver{Binary: s.Logger, Args: logs.LoggerArgs(s.LogPath(name), rot)}, nil
}
