package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Mount is one mount of a service before it becomes an OCI mount:
// named volumes still need their host directory from the volume manager.
type Mount struct {
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

// Mounts lists the service's mounts in Docker's order: volumes as
// written, then tmpfs entries.
func Mounts(p *types.Project, s types.ServiceConfig, containerName string) ([]Mount, []string, error) {
	var out []Mount
	var warnings []string
	for _, v := range s.Volumes {
		if !path.IsAbs(v.Target) {
			return nil, nil, fmt.Errorf("service %q: volumes: target %q must be an absolute path", s.Name, v.Target)
		}
		m := Mount{Target: path.Clean(v.Target), RO: v.ReadOnly}
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
				m.Volume, m.Anon = AnonymousVolume(containerName, m.Target), true
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
		m := Mount{Kind: "tmpfs", Target: path.Clean(target)}
		if opts != "" {
			m.Opts = strings.Split(opts, ",")
		}
		out = append(out, m)
	}
	return out, warnings, nil
}

// AnonymousVolume names a container's anonymous volume after the container
// and the target, so a recreated container finds its data again.
func AnonymousVolume(containerName, target string) string {
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

// OCIMount turns a resolved mount into an OCI mount; hostPath is the
// volume's directory for volumes. A bind's source must exist by then: the
// caller creates it when Create says so.
func OCIMount(m Mount, hostPath string) specs.Mount {
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
		return specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: m.Target, Options: opts}
	case "bind":
		hostPath = m.Source
	}
	opts := append([]string{"rbind", access}, m.Opts...)
	return specs.Mount{Type: "bind", Source: hostPath, Destination: m.Target, Options: opts}
}
