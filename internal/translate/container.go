package translate

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/internal/runspec"
	"github.com/berth-dev/berth/network/netspec"
)

// DefaultStopGrace is Docker's default stop_grace_period.
const DefaultStopGrace = 10 * time.Second

// Image is what the translation reads of the image a container runs.
type Image struct {
	Ref    string // the stored reference, e.g. docker.io/library/redis:7
	ID     string // the config digest
	Config ocispec.ImageConfig
	Health *runspec.ImageHealth
}

// Input is what one container's spec is made from: the service, the replica, the
// image, and what berth set up for it before (mounts, network namespace, ports).
type Input struct {
	Project *types.Project
	Service types.ServiceConfig
	Number  int
	Name    string
	Image   Image
	Hash    string
	Deps    []record.Dep
	Mounts  []specs.Mount
	Oneoff  bool
	// NetNS is the network namespace's path ("host" for the host's); Networks and
	// Ports are what the container was attached to and published.
	NetNS    string
	Networks []string
	Ports    []netspec.PortMapping
}

// Container merges the image's config with the service, as Docker does, and returns
// the container spec (its labels the record of it) and the warnings for what berth
// ignores.
func Container(in Input) (runspec.Container, []string, error) {
	s, img := in.Service, in.Image.Config
	args := CommandLine(s, img)
	if len(args) == 0 {
		return runspec.Container{}, nil, fmt.Errorf("service %q: no command: the image %s has no CMD or ENTRYPOINT and the service sets no command", s.Name, in.Image.Ref)
	}
	hostname := Hostname(s, in.Name)
	spec := runspec.Container{
		ID:          in.Name,
		Image:       in.Image.Ref,
		Labels:      Record(in, args).Labels(),
		Args:        args,
		Env:         Environment(append(defaultEnv(hostname, s.Tty, img.Env), img.Env...), s.Environment),
		Cwd:         firstNonEmpty(s.WorkingDir, img.WorkingDir),
		User:        firstNonEmpty(s.User, img.User),
		GroupAdd:    s.GroupAdd,
		Tty:         s.Tty,
		Stdin:       s.StdinOpen,
		Hostname:    hostname,
		Domainname:  s.DomainName,
		Mounts:      in.Mounts,
		NetNSPath:   in.NetNS,
		Annotations: s.Annotations,
		Privileged:  s.Privileged,
		ReadOnly:    s.ReadOnly,
		CapAdd:      s.CapAdd,
		CapDrop:     s.CapDrop,
		Sysctls:     s.Sysctls,
		Rlimits:     rlimits(s.Ulimits),
		ShmSize:     int64(s.ShmSize),
		CPUShares:   uint64(s.CPUShares),
		CPUSet:      s.CPUSet,
	}
	spec.OOMScoreAdj = int(s.OomScoreAdj)
	applyResources(&spec, s)
	warnings := applySecurityOpts(&spec, s)
	warnings = append(warnings, Unsupported(s)...)
	return spec, warnings, nil
}

// CommandLine is ENTRYPOINT + CMD with Docker's override rules: a service
// entrypoint drops the image's CMD unless the service sets a command too.
func CommandLine(s types.ServiceConfig, img ocispec.ImageConfig) []string {
	entrypoint, cmd := img.Entrypoint, img.Cmd
	if s.Entrypoint != nil {
		entrypoint, cmd = s.Entrypoint, nil
	}
	if s.Command != nil {
		cmd = s.Command
	}
	return append(slices.Clone(entrypoint), cmd...)
}

// Environment is the image's variables overridden by the service's; a
// variable the service leaves without a value is dropped, as Docker does.
func Environment(image []string, service types.MappingWithEquals) []string {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range image {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	keys := make([]string, 0, len(service))
	for k := range service {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := service[k]; v != nil {
			set(k, *v)
		} else {
			// a variable named without a value that the environment does not set
			// removes the image's, as the engine does (ReplaceOrAppendEnvValues)
			delete(env, k)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		if v, ok := env[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// DefaultPath is the PATH Docker's engine gives a container whose image sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultEnv is what the engine gives every container before the image's and the
// service's variables, which override it: PATH when the image has none, its
// hostname, and TERM with a TTY.
func defaultEnv(hostname string, tty bool, image []string) []string {
	var env []string
	if !slices.ContainsFunc(image, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		env = append(env, "PATH="+DefaultPath)
	}
	env = append(env, "HOSTNAME="+hostname)
	if tty {
		env = append(env, "TERM=xterm")
	}
	return env
}

// Record is what berth writes on the container: Docker Compose's labels and its own.
func Record(in Input, args []string) record.Container {
	s, p := in.Service, in.Project
	user := map[string]string{}
	maps.Copy(user, s.Labels)
	maps.Copy(user, s.CustomLabels)
	grace := DefaultStopGrace
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	return record.Container{
		Project:     p.Name,
		Service:     s.Name,
		Name:        in.Name,
		Number:      in.Number,
		Oneoff:      in.Oneoff,
		ConfigHash:  in.Hash,
		WorkingDir:  p.WorkingDir,
		ConfigFiles: p.ComposeFiles,
		ImageID:     in.Image.ID,
		DependsOn:   in.Deps,
		StopSignal:  firstNonEmpty(s.StopSignal, in.Image.Config.StopSignal, "SIGTERM"),
		StopGrace:   grace,
		Restart:     RestartPolicy(s),
		Health:      EffectiveHealthCheck(s.HealthCheck, in.Image.Health),
		Networks:    in.Networks,
		Command:     strings.Join(args, " "),
		NetNS:       in.NetNS,
		Ports:       in.Ports,
		User:        user,
	}
}

// Hostname is the service's hostname, else the container's name kept within the
// kernel's 64 bytes.
func Hostname(s types.ServiceConfig, containerName string) string {
	if s.Hostname != "" {
		return s.Hostname
	}
	if len(containerName) > 63 {
		return containerName[:63]
	}
	return containerName
}

func rlimits(ulimits map[string]*types.UlimitsConfig) []specs.POSIXRlimit {
	names := make([]string, 0, len(ulimits))
	for n := range ulimits {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []specs.POSIXRlimit
	for _, n := range names {
		u := ulimits[n]
		soft, hard := u.Soft, u.Hard
		if u.Single != 0 {
			soft, hard = u.Single, u.Single
		}
		out = append(out, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(n), Soft: uint64(soft), Hard: uint64(hard)})
	}
	return out
}

// applyResources takes limits from the service keys and from
// deploy.resources.limits, the latter winning as in Docker Compose.
func applyResources(spec *runspec.Container, s types.ServiceConfig) {
	spec.MemoryLimit = int64(s.MemLimit)
	spec.MemoryReserve = int64(s.MemReservation)
	spec.MemorySwap = int64(s.MemSwapLimit)
	spec.PidsLimit = s.PidsLimit
	cpus := float64(s.CPUS)
	if s.CPUQuota > 0 {
		spec.CPUQuota, spec.CPUPeriod = s.CPUQuota, uint64(s.CPUPeriod)
	}
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			if l.MemoryBytes > 0 {
				spec.MemoryLimit = int64(l.MemoryBytes)
			}
			if l.NanoCPUs > 0 {
				cpus = float64(l.NanoCPUs)
			}
			if l.Pids > 0 {
				spec.PidsLimit = l.Pids
			}
		}
		if r := s.Deploy.Resources.Reservations; r != nil && r.MemoryBytes > 0 {
			spec.MemoryReserve = int64(r.MemoryBytes)
		}
	}
	if cpus > 0 {
		spec.CPUPeriod = 100000
		spec.CPUQuota = int64(cpus * 100000)
	}
}

// applySecurityOpts honours the security_opt entries containerd supports.
func applySecurityOpts(spec *runspec.Container, s types.ServiceConfig) []string {
	var warnings []string
	for _, opt := range s.SecurityOpt {
		k, v, _ := strings.Cut(strings.Replace(opt, ":", "=", 1), "=")
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true"):
			spec.NoNewPrivileges = true
		case k == "no-new-privileges" && v == "false":
		case k == "seccomp" && v == "unconfined":
			spec.Seccomp = "unconfined"
		default:
			warnings = append(warnings, fmt.Sprintf("service %q: security_opt %q is not supported by berth and is ignored", s.Name, opt))
		}
	}
	return warnings
}

// Unsupported lists what the Compose file asks for that berth cannot
// honour: never silently dropped.
func Unsupported(s types.ServiceConfig) []string {
	var keys []string
	check := func(set bool, key string) {
		if set {
			keys = append(keys, key)
		}
	}
	check(len(s.Devices) > 0, "devices")
	check(len(s.Gpus) > 0, "gpus")
	check(s.BlkioConfig != nil, "blkio_config")
	check(s.CgroupParent != "", "cgroup_parent")
	check(s.Isolation != "", "isolation")
	check(s.Runtime != "", "runtime")
	check(s.UserNSMode != "", "userns_mode")
	check(len(s.StorageOpt) > 0, "storage_opt")
	check(s.Init != nil && *s.Init, "init")
	check(s.Uts != "", "uts")
	check(s.Cgroup != "", "cgroup")
	check(s.Platform != "", "platform")
	check(len(s.DeviceCgroupRules) > 0, "device_cgroup_rules")
	check(s.CredentialSpec != nil, "credential_spec")
	check(s.Logging != nil && s.Logging.Driver != "" && s.Logging.Driver != "json-file" && s.Logging.Driver != "local", "logging.driver")
	check(len(s.PostStart) > 0, "post_start")
	check(len(s.PreStop) > 0, "pre_stop")
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("service %q: %s is not supported by berth yet and is ignored", s.Name, k)
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
