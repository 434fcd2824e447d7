package service

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// volumeMount is one mount of a service before it becomes an OCI mount:
// named volumes still need their host directory from the volume manager.
type volumeMount struct {
	Kind   string // "volume", "bind", "tmpfs"
	Volume string // full volume name, for named and anonymous volumes
	Anon   bool
	Source string // host path for binds
	Target string
	RO     bool
	NoCopy bool
	Create bool     // create the bind's host directory when missing
	Opts   []string // extra mount options (tmpfs size, mode; bind propagation)
}

// serviceMounts lists the service's mounts in Docker's order: volumes as
// written, then tmpfs entries.
func serviceMounts(p *types.Project, s types.ServiceConfig, containerName string) ([]volumeMount, []string, error) {
	var out []volumeMount
	var warnings []string
	for _, v := range s.Volumes {
		if !path.IsAbs(v.Target) {
			return nil, nil, fmt.Errorf("service %q: volumes: target %q must be an absolute path", s.Name, v.Target)
		}
		m := volumeMount{Target: path.Clean(v.Target), RO: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			m.Kind = "volume"
			if v.Volume != nil {
				m.NoCopy = v.Volume.NoCopy
				if v.Volume.Subpath != "" {
					warnings = append(warnings, fmt.Sprintf("service %q: volumes: subpath is not supported yet and is ignored", s.Name))
				}
			}
			if v.Source == "" {
				m.Volume, m.Anon = anonymousVolume(containerName, m.Target), true
			} else if vol, ok := p.Volumes[v.Source]; ok {
				m.Volume = vol.Name
			} else {
				return nil, nil, fmt.Errorf("service %q: volumes: undefined volume %q", s.Name, v.Source)
			}
		case types.VolumeTypeBind:
			if !filepath.IsAbs(v.Source) {
				return nil, nil, fmt.Errorf("service %q: volumes: bind source %q must be an absolute path, or relative to the project directory starting with ./", s.Name, v.Source)
			}
			m.Kind, m.Source = "bind", v.Source
			if v.Bind != nil {
				m.Create = bool(v.Bind.CreateHostPath)
				if v.Bind.Propagation != "" {
					m.Opts = append(m.Opts, v.Bind.Propagation)
				}
			}
		case types.VolumeTypeTmpfs:
			m.Kind = "tmpfs"
			if v.Tmpfs != nil {
				m.Opts = tmpfsOpts(int64(v.Tmpfs.Size), v.Tmpfs.Mode)
			}
		default:
			warnings = append(warnings, fmt.Sprintf("service %q: volumes: type %q is not supported and is ignored", s.Name, v.Type))
			continue
		}
		out = append(out, m)
	}
	for _, t := range s.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		m := volumeMount{Kind: "tmpfs", Target: path.Clean(target)}
		if opts != "" {
			m.Opts = strings.Split(opts, ",")
		}
		out = append(out, m)
	}
	return out, warnings, nil
}

// anonymousVolume names a container's anonymous volume after the container
// and the target, so a recreated container finds its data again.
func anonymousVolume(containerName, target string) string {
	sum := sha256.Sum256([]byte(target))
	return containerName + "_anon_" + hex.EncodeToString(sum[:6])
}

func tmpfsOpts(size int64, mode uint32) []string {
	var opts []string
	if size > 0 {
		opts = append(opts, "size="+strconv.FormatInt(size, 10))
	}
	if mode != 0 {
		opts = append(opts, "mode="+strconv.FormatUint(uint64(mode), 8))
	}
	return opts
}

// ociMount turns a resolved mount into an OCI mount; hostPath is the
// volume's directory for volumes.
func ociMount(m volumeMount, hostPath string) (specs.Mount, error) {
	access := "rw"
	if m.RO {
		access = "ro"
	}
	switch m.Kind {
	case "tmpfs":
		opts := append([]string{"nosuid", "nodev", "noexec"}, m.Opts...)
		if m.RO {
			opts = append(opts, "ro")
		}
		return specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: m.Target, Options: opts}, nil
	case "bind":
		if err := ensureBindSource(m); err != nil {
			return specs.Mount{}, err
		}
		hostPath = m.Source
	}
	opts := append([]string{"rbind", access}, m.Opts...)
	return specs.Mount{Type: "bind", Source: hostPath, Destination: m.Target, Options: opts}, nil
}

// ensureBindSource creates a missing host directory for the short syntax
// (as Docker does) and otherwise reports it.
func ensureBindSource(m volumeMount) error {
	_, err := os.Stat(m.Source)
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bind mount %s: %w", m.Source, err)
	}
	if !m.Create {
		return fmt.Errorf("bind mount source path does not exist: %s", m.Source)
	}
	if err := os.MkdirAll(m.Source, 0o755); err != nil {
		return fmt.Errorf("create bind mount source %s: %w", m.Source, err)
	}
	return nil
}
