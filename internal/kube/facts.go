package kube

// The facts of a Compose service that berth's two targets share come from
// internal/translate, the one translation of a service; the functions
// below only adapt them to what this package reads. What Kubernetes needs
// and the container engine does not (expose, the command and entrypoint
// kept apart: a pod keeps the image's own) is read here from the model.

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"

	"github.com/berth-dev/berth/internal/translate"
	"github.com/berth-dev/berth/project"
)

// healthCheck is a service's health check with Docker's defaults filled in.
type healthCheck struct {
	Argv          []string // the command: CMD as is, CMD-SHELL through /bin/sh -c
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// healthOf returns the service's health check, nil when it has none or
// disables it; inherited is true when the service tunes a check whose test
// comes from the image, which a converter cannot read.
func healthOf(s types.ServiceConfig) (hc *healthCheck, inherited bool) {
	h := s.HealthCheck
	inherited = h != nil && !h.Disable && len(h.Test) == 0
	eff := translate.EffectiveHealthCheck(h, nil)
	if eff == nil {
		return nil, inherited
	}
	return &healthCheck{Argv: eff.Argv(), Interval: eff.Interval, Timeout: eff.Timeout,
		StartPeriod: eff.StartPeriod, StartInterval: eff.StartInterval, Retries: eff.Retries}, false
}

// restartPolicy is Docker's restart policy of a service: no, always,
// unless-stopped or on-failure with an optional maximum of retries.
type restartPolicy struct {
	Name       string
	MaxRetries int // on-failure:N; 0 is unlimited
}

func restartOf(s types.ServiceConfig) restartPolicy {
	name, max, _ := strings.Cut(translate.RestartPolicy(s), ":")
	n, _ := strconv.Atoi(max)
	return restartPolicy{Name: name, MaxRetries: n}
}

// stopGraceOf is how long a stop waits before it kills.
func stopGraceOf(s types.ServiceConfig) time.Duration {
	if s.StopGracePeriod != nil {
		return time.Duration(*s.StopGracePeriod)
	}
	return translate.DefaultStopGrace
}

// portMapping is one entry of a service's ports, or of its expose.
type portMapping struct {
	Target    uint16
	Published uint16 // 0: none, or an ephemeral host port
	HostIP    string
	Protocol  string // tcp, udp or sctp
}

func portsOf(s types.ServiceConfig) ([]portMapping, error) {
	var out []portMapping
	for _, p := range s.Ports {
		pm, err := translate.PortMapping(p)
		if err != nil {
			return nil, fmt.Errorf("service %q: ports: %w", s.Name, err)
		}
		out = append(out, portMapping{Target: pm.ContainerPort, Published: pm.HostPort, HostIP: pm.HostIP,
			Protocol: strings.ToLower(pm.Protocol)})
	}
	return out, nil
}

// exposedOf lists the service's expose entries as ports with protocols;
// the engine has no use for them, a ClusterIP Service does.
func exposedOf(s types.ServiceConfig) ([]portMapping, error) {
	var out []portMapping
	for _, e := range s.Expose {
		spec, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		first, last, isRange := strings.Cut(spec, "-")
		lo, err := strconv.ParseUint(first, 10, 16)
		hi := lo
		if err == nil && isRange {
			hi, err = strconv.ParseUint(last, 10, 16)
		}
		if err != nil || lo == 0 || hi < lo {
			return nil, fmt.Errorf("service %q: expose: invalid port %q", s.Name, e)
		}
		for p := lo; p <= hi; p++ {
			out = append(out, portMapping{Target: uint16(p), Protocol: strings.ToLower(proto)})
		}
	}
	return out, nil
}

// attachment is a service's membership of one project network.
type attachment struct {
	Key      string // the network's key in the Compose file
	Name     string // the network's real name (<project>_<key> unless set)
	Internal bool
	External bool
	Aliases  []string // the names other containers find the service by on it
}

// networksOf lists the service's networks in Docker's order with the names
// it is found by on each: the service's, container_name, hostname and the
// network's aliases. The name of the first container (<project>-<service>-1)
// is not among them: a Deployment's pods are not numbered.
func networksOf(p *types.Project, s types.ServiceConfig) ([]attachment, error) {
	first := project.ContainerName(p.Name, s, 1)
	req, err := translate.Attachments(p, s, first, 1)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for key, n := range p.Networks {
		keys[n.Name] = key
	}
	var out []attachment
	for _, a := range req.Networks {
		n := p.Networks[keys[a.Network]]
		att := attachment{Key: keys[a.Network], Name: a.Network, Internal: n.Internal, External: bool(n.External)}
		for _, alias := range a.Aliases {
			if alias != s.Name && (alias != first || alias == s.ContainerName) && !slices.Contains(att.Aliases, alias) {
				att.Aliases = append(att.Aliases, alias)
			}
		}
		out = append(out, att)
	}
	return out, nil
}

// aliasesOf lists the names, besides the service's own, by which the other
// containers of the project find the service, each once.
func aliasesOf(nets []attachment) []string {
	var names []string
	for _, a := range nets {
		for _, alias := range a.Aliases {
			if !slices.Contains(names, alias) {
				names = append(names, alias)
			}
		}
	}
	return names
}

// linkAliases maps a service to the aliases other services give it with
// links: [service:alias].
func linkAliases(p *types.Project) map[string][]string {
	out := map[string][]string{}
	for _, name := range p.ServiceNames() {
		for _, l := range p.Services[name].Links {
			target, alias, ok := strings.Cut(l, ":")
			if ok && alias != target && !slices.Contains(out[target], alias) {
				out[target] = append(out[target], alias)
			}
		}
	}
	return out
}

// mountKind classifies a service's mount.
type mountKind int

const (
	mountVolume    mountKind = iota // a named volume of the project
	mountAnonymous                  // a volume without a name, one per container
	mountBind                       // a host path
	mountTmpfs                      // memory
)

// mount is one of a service's mounts, classified.
type mount struct {
	Kind      mountKind
	Volume    string // the volume's key, for mountVolume
	Source    string // the host path, for mountBind
	Target    string
	ReadOnly  bool
	SubPath   string
	TmpfsSize int64
	TmpfsMode uint32
}

// mountsOf lists the service's mounts in Docker's order: volumes as
// written, then tmpfs entries. The mount types the translation leaves out
// are returned as keys for a warning.
func mountsOf(p *types.Project, s types.ServiceConfig) ([]mount, []string, error) {
	mounts, _, err := translate.Mounts(p, s, project.ContainerName(p.Name, s, 1))
	if err != nil {
		return nil, nil, err
	}
	keys := map[string]string{}
	for key, v := range p.Volumes {
		keys[v.Name] = key
	}
	var out []mount
	for _, m := range mounts {
		km := mount{Target: m.Target, ReadOnly: m.RO, Source: m.Source}
		switch {
		case m.Kind == "volume" && m.Anon:
			km.Kind = mountAnonymous
		case m.Kind == "volume":
			km.Kind, km.Volume, km.SubPath = mountVolume, keys[m.Volume], subPathOf(s, m.Target)
		case m.Kind == "bind":
			km.Kind = mountBind
		default:
			km.Kind = mountTmpfs
			km.TmpfsSize, km.TmpfsMode = tmpfsOptions(m.Opts)
		}
		out = append(out, km)
	}
	var ignored []string
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeVolume, types.VolumeTypeBind, types.VolumeTypeTmpfs:
		default:
			ignored = append(ignored, "volumes.type "+v.Type)
		}
	}
	return out, ignored, nil
}

// subPathOf is a volume mount's subpath, which the translation does not
// carry (the engine does not support it; a pod does).
func subPathOf(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Volume != nil && path.Clean(v.Target) == target {
			return v.Volume.Subpath
		}
	}
	return ""
}

// tmpfsOptions reads size and mode from a tmpfs mount's options.
func tmpfsOptions(opts []string) (size int64, mode uint32) {
	for _, opt := range opts {
		if v, ok := strings.CutPrefix(opt, "size="); ok {
			size, _ = units.RAMInBytes(v)
		}
		if v, ok := strings.CutPrefix(opt, "mode="); ok {
			m, _ := strconv.ParseUint(v, 8, 32)
			mode = uint32(m)
		}
	}
	return size, mode
}

// fileRef is a secret or a config as a service mounts it.
type fileRef struct {
	Kind     string // "secret" or "config"
	Key      string // its key in the Compose file
	Target   string // absolute path in the container
	Mode     uint32
	UID, GID string
	External bool
}

// fileRefsOf lists the service's secrets then configs, with Docker's
// default targets (/run/secrets/<key>, /<key>) and mode (0444). The engine
// refuses external ones; in a cluster they are objects that exist already,
// so the translation reads a copy of the project where they are not
// external.
func fileRefsOf(p *types.Project, s types.ServiceConfig) ([]fileRef, error) {
	q := *p
	q.Secrets, q.Configs = maps.Clone(p.Secrets), maps.Clone(p.Configs)
	for k, v := range q.Secrets {
		v.External = false
		q.Secrets[k] = v
	}
	for k, v := range q.Configs {
		v.External = false
		q.Configs[k] = v
	}
	refs, err := translate.FileRefs(&q, s)
	if err != nil {
		return nil, err
	}
	out := make([]fileRef, len(refs))
	for i, r := range refs {
		external := bool(p.Secrets[r.Name].External)
		if r.Kind == "config" {
			external = bool(p.Configs[r.Name].External)
		}
		out[i] = fileRef{Kind: r.Kind, Key: r.Name, Target: r.Target, Mode: uint32(r.Mode),
			UID: r.UID, GID: r.GID, External: external}
	}
	return out, nil
}

// dependency is one service another waits for, with the strictest
// condition any of its declarations asks.
type dependency struct {
	Service   string
	Condition string // service_started, service_healthy, service_completed_successfully
	Restart   bool
}

// dependenciesOf folds the service's dependencies (depends_on, links,
// network_mode: service:, volumes_from) into one entry per service,
// sorted by name; those outside the project (required: false) are left
// out.
func dependenciesOf(p *types.Project, g *project.Graph, s types.ServiceConfig) []dependency {
	var out []dependency
	for _, d := range translate.Deps(g, s.Name) {
		if _, ok := p.Services[d.Service]; ok {
			out = append(out, dependency{Service: d.Service, Condition: d.Condition, Restart: d.Restart})
		}
	}
	slices.SortFunc(out, func(a, b dependency) int { return strings.Compare(a.Service, b.Service) })
	return out
}

// environmentOf is the service's environment as Compose resolved it
// (env_file merged, overridden by environment); a variable left without a
// value is dropped, as Docker does.
func environmentOf(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for _, kv := range translate.Environment(nil, s.Environment) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}
