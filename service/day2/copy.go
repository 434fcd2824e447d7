package day2

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/berth-dev/berth/internal/fscopy"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/service/plan"
)

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
func (o Ops) Copy(ctx context.Context, projectName string, req CopyRequest) error {
	targets, err := o.copyTargets(ctx, projectName, req)
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
	opts := fscopy.CpOptions{Archive: req.Archive, Follow: req.FollowLink, Warn: o.warn}
	sink := progress.Or(o.Progress)
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

func copyOne(c plan.Container, req CopyRequest, hostPath string, stdin io.Reader, opts fscopy.CpOptions) error {
	root := fscopy.ProcRoot(c.PID)
	switch {
	case req.ToContainer && hostPath == "-":
		return fscopy.TarIn(stdin, root, req.ContainerPath, opts)
	case req.ToContainer:
		return fscopy.CopyIn(hostPath, root, req.ContainerPath, opts)
	case hostPath == "-":
		return fscopy.TarOut(req.Stdout, root, req.ContainerPath, opts)
	}
	return fscopy.CopyOut(root, req.ContainerPath, hostPath, opts)
}

// copyTargets finds the running containers a copy goes through.
func (o Ops) copyTargets(ctx context.Context, projectName string, req CopyRequest) ([]plan.Container, error) {
	cs, err := o.Host.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	var out []plan.Container
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
		if !plan.IsUp(c) || c.PID == 0 {
			return nil, fmt.Errorf("service %q: container %s is %s: berth cp works through a running container; start it with 'berth start %s'", req.Service, c.Name, c.State, req.Service)
		}
	}
	return out, nil
}
