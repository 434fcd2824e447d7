package service

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/project"
)

// berth's own labels, beside Docker Compose's: what down and the helper
// need to stop a container without the Compose file.
const (
	LabelStopSignal  = "berth.stop-signal"
	LabelStopTimeout = "berth.stop-grace-period"
	LabelRestart     = "berth.restart"
	LabelHealthcheck = "berth.healthcheck"
	LabelNetworks    = "berth.networks"
	LabelCommand     = "berth.command"
)

// defaultStopGrace is Docker's default stop_grace_period.
const defaultStopGrace = 10 * time.Second

// specInput is what one container's spec is made from.
type specInput struct {
	Project *types.Project
	Service types.ServiceConfig
	Number  int
	Name    string
	Image   ctrd.ImageInfo
	Hash    string
	Deps    []Dep
	Mounts  []specs.Mount
	Args    []string // filled by buildSpec
	Oneoff  bool
}

// buildSpec merges the image's config with the service, as Docker does,
// and returns the container spec and the warnings for what berth ignores.
func buildSpec(in specInput) (ctrd.ContainerSpec, []string, error) {
	s, img := in.Service, in.Image.Config
	args := commandLine(s, img)
	if len(args) == 0 {
		return ctrd.ContainerSpec{}, nil, fmt.Errorf("service %q: no command: the image %s has no CMD or ENTRYPOINT and the service sets no command", s.Name, in.Image.Name)
	}
	in.Args = args
	spec := ctrd.ContainerSpec{
		ID:         in.Name,
		Image:      in.Image.Name,
		Labels:     containerLabels(in),
		Args:       args,
		Env:        environment(img.Env, s.Environment),
		Cwd:        firstNonEmpty(s.WorkingDir, img.WorkingDir),
		User:       firstNonEmpty(s.User, img.User),
		GroupAdd:   s.GroupAdd,
		Tty:        s.Tty,
		Stdin:      s.StdinOpen,
		Hostname:   firstNonEmpty(s.Hostname, shortHostname(in.Name)),
		Domainname: s.DomainName,
		Mounts:     in.Mounts,
		Privileged: s.Privileged,
		ReadOnly:   s.ReadOnly,
		CapAdd:     s.CapAdd,
		CapDrop:    s.CapDrop,
		Sysctls:    s.Sysctls,
		Rlimits:    rlimits(s.Ulimits),
		ShmSize:    int64(s.ShmSize),
		CPUShares:  uint64(s.CPUShares),
		CPUSet:     s.CPUSet,
	}
	spec.OOMScoreAdj = int(s.OomScoreAdj)
	applyResources(&spec, s)
	warnings := applySecurityOpts(&spec, s)
	warnings = append(warnings, unsupported(s)...)
	return spec, warnings, nil
}

// commandLine is ENTRYPOINT + CMD with Docker's override rules: a service
// entrypoint drops the image's CMD unless the service sets a command too.
func commandLine(s types.ServiceConfig, img ocispec.ImageConfig) []string {
	entrypoint, cmd := img.Entrypoint, img.Cmd
	if s.Entrypoint != nil {
		entrypoint, cmd = s.Entrypoint, nil
	}
	if s.Command != nil {
		cmd = s.Command
	}
	return append(slices.Clone(entrypoint), cmd...)
}

// environment is the image's variables overridden by the service's; a
// variable the service leaves without a value is dropped, as Docker does.
func environment(image []string, service types.MappingWithEquals) []string {
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
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

func containerLabels(in specInput) map[string]string {
	s, p := in.Service, in.Project
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	for k, v := range s.CustomLabels {
		labels[k] = v
	}
	stopSignal := firstNonEmpty(s.StopSignal, in.Image.Config.StopSignal, "SIGTERM")
	grace := defaultStopGrace
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	for k, v := range map[string]string{
		project.LabelProject:       p.Name,
		project.LabelService:       s.Name,
		project.LabelNumber:        strconv.Itoa(in.Number),
		project.LabelOneoff:        oneoffLabel(in.Oneoff),
		project.LabelConfigHash:    in.Hash,
		project.LabelWorkingDir:    p.WorkingDir,
		project.LabelConfigFiles:   strings.Join(p.ComposeFiles, ","),
		project.LabelImage:         in.Image.ID,
		project.LabelDependsOn:     depsLabel(in.Deps),
		project.LabelVersion:       "berth",
		project.LabelContainerName: in.Name,
		LabelStopSignal:            stopSignal,
		LabelStopTimeout:           grace.String(),
		LabelRestart:               restartPolicy(s),
		LabelCommand:               strings.Join(in.Args, " "),
	} {
		labels[k] = v
	}
	return labels
}

// shortHostname keeps the default hostname within the kernel's 64 bytes.
func shortHostname(name string) string {
	if len(name) > 63 {
		return name[:63]
	}
	return name
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
func applyResources(spec *ctrd.ContainerSpec, s types.ServiceConfig) {
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
func applySecurityOpts(spec *ctrd.ContainerSpec, s types.ServiceConfig) []string {
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

// unsupported lists what the Compose file asks for that berth cannot
// honour: never silently dropped.
func unsupported(s types.ServiceConfig) []string {
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

// oneoffLabel is Docker Compose's spelling of the oneoff label.
func oneoffLabel(oneoff bool) string {
	if oneoff {
		return "True"
	}
	return "False"
}
