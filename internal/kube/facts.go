package kube

// The facts of a Compose service that berth's two targets (containerd and
// Kubernetes) share. They are computed here only until internal/translate,
// the one translation of a service, lands: each function below is then
// replaced by a call into it, and nothing else in this package derives them.

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
)

// Docker's health check defaults.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthRetries       = 3
	defaultStopGrace           = 10 * time.Second
)

// healthCheck is a service's health check with Docker's defaults filled in.
type healthCheck struct {
	// Argv is the command to run; Shell says it came from CMD-SHELL and
	// Argv[0] is the shell line.
	Argv          []string
	Shell         bool
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
	if h == nil || h.Disable {
		return nil, false
	}
	if len(h.Test) == 0 {
		return nil, true
	}
	if h.Test[0] == "NONE" {
		return nil, false
	}
	hc = &healthCheck{Interval: defaultHealthInterval, Timeout: defaultHealthTimeout,
		StartInterval: defaultHealthStartInterval, Retries: defaultHealthRetries}
	switch h.Test[0] {
	case "CMD":
		hc.Argv = slices.Clone(h.Test[1:])
	case "CMD-SHELL":
		hc.Argv, hc.Shell = []string{strings.Join(h.Test[1:], " ")}, true
	default:
		// compose-go keeps a bare list as written: Docker runs it as CMD
		hc.Argv = slices.Clone(h.Test)
	}
	setDuration(&hc.Interval, h.Interval)
	setDuration(&hc.Timeout, h.Timeout)
	setDuration(&hc.StartPeriod, h.StartPeriod)
	setDuration(&hc.StartInterval, h.StartInterval)
	if h.Retries != nil && *h.Retries > 0 {
		hc.Retries = int(*h.Retries)
	}
	return hc, false
}

func setDuration(d *time.Duration, v *types.Duration) {
	if v != nil && *v > 0 {
		*d = time.Duration(*v)
	}
}

// restartPolicy is Docker's restart policy of a service: no, always,
// unless-stopped or on-failure with an optional maximum of retries.
type restartPolicy struct {
	Name       string
	MaxRetries int // on-failure:N; 0 is unlimited
}

func restartOf(s types.ServiceConfig) restartPolicy {
	policy := "no"
	switch {
	case s.Restart != "":
		policy = s.Restart
	case s.Deploy != nil && s.Deploy.RestartPolicy != nil:
		rp := s.Deploy.RestartPolicy
		switch rp.Condition {
		case "none":
		case "on-failure":
			policy = "on-failure"
			if rp.MaxAttempts != nil {
				policy += ":" + strconv.FormatUint(*rp.MaxAttempts, 10)
			}
		default:
			policy = "always"
		}
	}
	name, max, _ := strings.Cut(policy, ":")
	n, _ := strconv.Atoi(max)
	return restartPolicy{Name: name, MaxRetries: n}
}

// stopGraceOf is how long a stop waits before it kills.
func stopGraceOf(s types.ServiceConfig) time.Duration {
	if s.StopGracePeriod != nil {
		return time.Duration(*s.StopGracePeriod)
	}
	return defaultStopGrace
}

// portMapping is one entry of a service's ports.
type portMapping struct {
	Target    uint16
	Published uint16 // 0: none, or an ephemeral host port
	HostIP    string
	Protocol  string // tcp, udp or sctp
}

func portsOf(s types.ServiceConfig) ([]portMapping, error) {
	var out []portMapping
	for _, p := range s.Ports {
		pm := portMapping{HostIP: p.HostIP, Protocol: strings.ToLower(p.Protocol)}
		if p.Target == 0 || p.Target > 65535 {
			return nil, fmt.Errorf("service %q: ports: invalid container port %d", s.Name, p.Target)
		}
		pm.Target = uint16(p.Target)
		// a published range for one target: Docker takes the first free
		// port of it; the first one is the deterministic choice
		published, _, _ := strings.Cut(p.Published, "-")
		if published != "" {
			n, err := strconv.ParseUint(published, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("service %q: ports: invalid published port %q", s.Name, p.Published)
			}
			pm.Published = uint16(n)
		}
		if pm.Protocol == "" {
			pm.Protocol = "tcp"
		}
		out = append(out, pm)
	}
	return out, nil
}

// exposedOf lists the service's expose entries as ports with protocols.
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
	Aliases  []string
}

func networksOf(p *types.Project, s types.ServiceConfig) []attachment {
	var out []attachment
	for _, key := range s.NetworksByPriority() {
		n := p.Networks[key]
		a := attachment{Key: key, Name: n.Name, Internal: n.Internal, External: bool(n.External)}
		if cfg := s.Networks[key]; cfg != nil {
			a.Aliases = slices.Clone(cfg.Aliases)
		}
		out = append(out, a)
	}
	return out
}

// aliasesOf lists the names, besides the service's own, by which the other
// containers of the project find the service: container_name, hostname,
// network aliases and link aliases, in that order, without duplicates.
func aliasesOf(p *types.Project, s types.ServiceConfig) []string {
	var names []string
	add := func(n string) {
		if n != "" && n != s.Name && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	add(s.ContainerName)
	add(s.Hostname)
	for _, a := range networksOf(p, s) {
		for _, alias := range a.Aliases {
			add(alias)
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

// mountsOf lists the service's mounts in Docker's order: volumes as written,
// then tmpfs entries. Mount types it does not know are returned as keys for
// a warning.
func mountsOf(p *types.Project, s types.ServiceConfig) ([]mount, []string, error) {
	var out []mount
	var ignored []string
	for _, v := range s.Volumes {
		if !path.IsAbs(v.Target) {
			return nil, nil, fmt.Errorf("service %q: volumes: target %q must be an absolute path", s.Name, v.Target)
		}
		m := mount{Target: path.Clean(v.Target), ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			m.Kind = mountAnonymous
			if v.Source != "" {
				if _, ok := p.Volumes[v.Source]; !ok {
					return nil, nil, fmt.Errorf("service %q: volumes: undefined volume %q", s.Name, v.Source)
				}
				m.Kind, m.Volume = mountVolume, v.Source
			}
			if v.Volume != nil {
				m.SubPath = v.Volume.Subpath
			}
		case types.VolumeTypeBind:
			m.Kind, m.Source = mountBind, v.Source
		case types.VolumeTypeTmpfs:
			m.Kind = mountTmpfs
			if v.Tmpfs != nil {
				m.TmpfsSize, m.TmpfsMode = int64(v.Tmpfs.Size), v.Tmpfs.Mode
			}
		default:
			ignored = append(ignored, "volumes.type "+v.Type)
			continue
		}
		out = append(out, m)
	}
	for _, t := range s.Tmpfs {
		target, opts, _ := strings.Cut(t, ":")
		m := mount{Kind: mountTmpfs, Target: path.Clean(target)}
		for _, opt := range strings.Split(opts, ",") {
			if size, ok := strings.CutPrefix(opt, "size="); ok {
				m.TmpfsSize, _ = units.RAMInBytes(size)
			}
		}
		out = append(out, m)
	}
	return out, ignored, nil
}

// fileRef is a secret or a config as a service mounts it.
type fileRef struct {
	Kind     string // "secret" or "config"
	Key      string // its key in the Compose file
	Name     string // its real name (<project>_<key> unless set)
	Target   string // absolute path in the container
	Mode     uint32
	UID, GID string
	File     string // the host file, or
	Content  string // the inline value, or the environment variable's
	Env      string // the environment variable it came from
	External bool
}

// fileRefsOf lists the service's secrets then configs, with Docker's
// default targets (/run/secrets/<key>, /<key>) and mode (0444).
func fileRefsOf(p *types.Project, s types.ServiceConfig) ([]fileRef, error) {
	var refs []fileRef
	for _, sec := range s.Secrets {
		def, ok := p.Secrets[sec.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: secrets: undefined secret %q", s.Name, sec.Source)
		}
		refs = append(refs, newFileRef("secret", types.FileReferenceConfig(sec), types.FileObjectConfig(def), "/run/secrets/"+sec.Source))
	}
	for _, cfg := range s.Configs {
		def, ok := p.Configs[cfg.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: configs: undefined config %q", s.Name, cfg.Source)
		}
		refs = append(refs, newFileRef("config", types.FileReferenceConfig(cfg), types.FileObjectConfig(def), "/"+cfg.Source))
	}
	return refs, nil
}

func newFileRef(kind string, ref types.FileReferenceConfig, def types.FileObjectConfig, defaultTarget string) fileRef {
	r := fileRef{Kind: kind, Key: ref.Source, Name: def.Name, Target: ref.Target, Mode: 0o444,
		UID: ref.UID, GID: ref.GID, File: def.File, Content: def.Content, Env: def.Environment,
		External: bool(def.External)}
	if r.Name == "" {
		r.Name = ref.Source
	}
	if r.Target == "" {
		r.Target = defaultTarget
	} else if !path.IsAbs(r.Target) {
		r.Target = path.Join(path.Dir(defaultTarget), r.Target)
	}
	if ref.Mode != nil {
		r.Mode = uint32(*ref.Mode)
	}
	return r
}

// dependency is one service another waits for, with the strictest
// condition any of its declarations asks.
type dependency struct {
	Service   string
	Condition string // service_started, service_healthy, service_completed_successfully
	Restart   bool
}

// dependenciesOf folds the service's depends_on (which compose-go already
// completes with links, volumes_from and network_mode: service:) into one
// entry per service, sorted by name; dependencies outside the project
// (required: false) are left out.
func dependenciesOf(p *types.Project, s types.ServiceConfig) []dependency {
	var out []dependency
	for _, name := range slices.Sorted(maps.Keys(s.DependsOn)) {
		if _, ok := p.Services[name]; !ok {
			continue
		}
		d := s.DependsOn[name]
		cond := d.Condition
		if cond == "" {
			cond = types.ServiceConditionStarted
		}
		out = append(out, dependency{Service: name, Condition: cond, Restart: d.Restart})
	}
	return out
}

// environmentOf is the service's environment as Compose resolved it
// (env_file merged, overridden by environment); a variable left without a
// value is dropped, as Docker does.
func environmentOf(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}
