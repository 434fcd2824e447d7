package kube

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/project"
)

// mainContainer is the service's container: what `up` would run, in a pod.
func (c *converter) mainContainer(sp *servicePlan) (corev1.Container, error) {
	s := sp.s
	ctr := corev1.Container{
		Name:       sp.name,
		Image:      c.image(s),
		WorkingDir: s.WorkingDir,
		TTY:        s.Tty,
		Stdin:      s.StdinOpen,
		Ports:      containerPorts(sp),
	}
	c.commandLine(s, &ctr)
	if err := c.environment(sp, &ctr); err != nil {
		return ctr, err
	}
	ctr.ReadinessProbe, ctr.LivenessProbe, ctr.StartupProbe = probes(sp.health)
	ctr.Resources = c.resources(s)
	ctr.SecurityContext = c.containerSecurity(s)
	ctr.Lifecycle = c.lifecycle(s)
	ctr.ImagePullPolicy = c.pullPolicy(s)
	return ctr, nil
}

// commandLine maps entrypoint to command and command to args: Kubernetes
// has Docker's override rules (a command without args drops the image's
// CMD too).
func (c *converter) commandLine(s types.ServiceConfig, ctr *corev1.Container) {
	if s.Entrypoint != nil {
		if len(s.Entrypoint) == 0 {
			c.warn(s.Name, "entrypoint", "an empty entrypoint cannot clear the image's ENTRYPOINT in Kubernetes: the image's is kept")
		}
		ctr.Command = literal(s.Entrypoint)
	}
	if s.Command != nil {
		if len(s.Command) == 0 && s.Entrypoint == nil {
			c.warn(s.Name, "command", "an empty command cannot clear the image's CMD in Kubernetes: the image's is kept")
		}
		ctr.Args = literal(s.Command)
	}
}

// literal protects strings from Kubernetes' $(VAR) expansion, which
// Docker does not do, in commands, probes, hooks and variables: $$ is a
// literal $ to Kubernetes. Strings without $( or $$ read the same either way
// and are left as written.
func literal(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = literalString(a)
	}
	return out
}

func literalString(s string) string {
	if strings.Contains(s, "$(") || strings.Contains(s, "$$") {
		return strings.ReplaceAll(s, "$", "$$")
	}
	return s
}

// containerPorts lists the ports of ports and expose, once each; in
// Kubernetes they only document the container (every port is reachable).
func containerPorts(sp *servicePlan) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, pm := range append(slices.Clone(sp.ports), sp.exposed...) {
		proto, ok := protocol(pm.Protocol)
		if !ok {
			continue
		}
		cp := corev1.ContainerPort{ContainerPort: int32(pm.Target), Protocol: proto}
		if !slices.Contains(out, cp) {
			out = append(out, cp)
		}
	}
	slices.SortFunc(out, func(a, b corev1.ContainerPort) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

func protocol(p string) (corev1.Protocol, bool) {
	switch p {
	case "tcp":
		return corev1.ProtocolTCP, true
	case "udp":
		return corev1.ProtocolUDP, true
	case "sctp":
		return corev1.ProtocolSCTP, true
	}
	return "", false
}

// probes turns a health check into readiness (it gates the Service's DNS
// answers, as health gates depends_on), liveness, and a startup probe that
// gives start_period to the start. CMD-SHELL runs through /bin/sh -c, as
// Docker runs it.
func probes(hc *healthCheck) (readiness, liveness, startup *corev1.Probe) {
	if hc == nil {
		return nil, nil, nil
	}
	argv := hc.Argv
	probe := func() *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: literal(argv)}},
			PeriodSeconds:    seconds(hc.Interval),
			TimeoutSeconds:   seconds(hc.Timeout),
			SuccessThreshold: 1,
			FailureThreshold: int32(max(hc.Retries, 1)),
		}
	}
	readiness, liveness = probe(), probe()
	if hc.StartPeriod > 0 {
		// failures during start_period do not count, then retries at the
		// interval do: the startup probe allows both before liveness starts
		startup = probe()
		startup.PeriodSeconds = seconds(hc.StartInterval)
		budget := hc.StartPeriod + time.Duration(hc.Retries)*hc.Interval
		startup.FailureThreshold = int32(math.Ceil(float64(budget) / float64(time.Duration(startup.PeriodSeconds)*time.Second)))
	}
	return readiness, liveness, startup
}

// seconds rounds a duration up to whole seconds, at least one: probes and
// grace periods count in seconds.
func seconds(d time.Duration) int32 {
	s := int32(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// resources takes limits and reservations from deploy.resources, or from
// cpus, mem_limit and mem_reservation, the former winning as in Docker
// Compose.
func (c *converter) resources(s types.ServiceConfig) corev1.ResourceRequirements {
	var limCPU, reqCPU float64 = float64(s.CPUS), 0
	limMem, reqMem := int64(s.MemLimit), int64(s.MemReservation)
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			limCPU = cmp.Or(float64(l.NanoCPUs), limCPU)
			limMem = cmp.Or(int64(l.MemoryBytes), limMem)
		}
		if r := s.Deploy.Resources.Reservations; r != nil {
			reqCPU = float64(r.NanoCPUs)
			reqMem = cmp.Or(int64(r.MemoryBytes), reqMem)
		}
	}
	var rr corev1.ResourceRequirements
	set := func(list *corev1.ResourceList, name corev1.ResourceName, q *resource.Quantity) {
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		(*list)[name] = *q
	}
	if limCPU > 0 {
		set(&rr.Limits, corev1.ResourceCPU, resource.NewMilliQuantity(int64(math.Round(limCPU*1000)), resource.DecimalSI))
	}
	if limMem > 0 {
		set(&rr.Limits, corev1.ResourceMemory, resource.NewQuantity(limMem, resource.BinarySI))
	}
	if reqCPU > 0 {
		set(&rr.Requests, corev1.ResourceCPU, resource.NewMilliQuantity(int64(math.Round(reqCPU*1000)), resource.DecimalSI))
	}
	if reqMem > 0 {
		set(&rr.Requests, corev1.ResourceMemory, resource.NewQuantity(reqMem, resource.BinarySI))
	}
	c.clampRequests(s.Name, &rr)
	return rr
}

// clampRequests lowers a reservation above its limit to the limit: Docker
// accepts it, the API server does not.
func (c *converter) clampRequests(service string, rr *corev1.ResourceRequirements) {
	for name, req := range rr.Requests {
		if lim, ok := rr.Limits[name]; ok && req.Cmp(lim) > 0 {
			c.warn(service, "deploy.resources.reservations", "the %s reservation is above its limit: lowered to the limit", name)
			rr.Requests[name] = lim
		}
	}
}

// containerSecurity maps user, privileges, capabilities, read_only and
// security_opt.
func (c *converter) containerSecurity(s types.ServiceConfig) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if s.User != "" {
		user, group, _ := strings.Cut(s.User, ":")
		uid, err1 := strconv.ParseInt(user, 10, 64)
		gid, err2 := strconv.ParseInt(cmp.Or(group, "0"), 10, 64)
		if err1 != nil || err2 != nil {
			c.warn(s.Name, "user", "%q: Kubernetes takes numeric ids only: the image's user is kept", s.User)
		} else {
			sc.RunAsUser = ptr.To(uid)
			if uid != 0 {
				// true by construction; said, it lets the pod meet restricted
				sc.RunAsNonRoot = ptr.To(true)
			}
			if group != "" {
				sc.RunAsGroup = ptr.To(gid)
			}
		}
	}
	if s.Privileged {
		sc.Privileged = ptr.To(true)
	}
	if s.ReadOnly {
		sc.ReadOnlyRootFilesystem = ptr.To(true)
	}
	if len(s.CapAdd) > 0 || len(s.CapDrop) > 0 {
		sc.Capabilities = &corev1.Capabilities{Add: capabilities(s.CapAdd), Drop: capabilities(s.CapDrop)}
	}
	c.securityOpts(s, sc)
	if *sc == (corev1.SecurityContext{}) {
		return nil
	}
	return sc
}

// capabilities are named without CAP_ in Kubernetes.
func capabilities(caps []string) []corev1.Capability {
	var out []corev1.Capability
	for _, name := range caps {
		out = append(out, corev1.Capability(strings.TrimPrefix(strings.ToUpper(name), "CAP_")))
	}
	return out
}

// securityOpts maps the security_opt entries Kubernetes has a field for.
func (c *converter) securityOpts(s types.ServiceConfig, sc *corev1.SecurityContext) {
	for _, opt := range s.SecurityOpt {
		key, value, _ := strings.Cut(strings.Replace(opt, "=", ":", 1), ":")
		switch {
		case key == "no-new-privileges" && (value == "" || value == "true"):
			if s.Privileged {
				c.warn(s.Name, "security_opt", "%q: a privileged container always may gain privileges: left out", opt)
				continue
			}
			sc.AllowPrivilegeEscalation = ptr.To(false)
		case key == "no-new-privileges" && value == "false":
		case key == "seccomp" && value == "unconfined":
			sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		case key == "apparmor" && value == "unconfined":
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		case key == "apparmor" && value != "":
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To(value)}
		default:
			c.warn(s.Name, "security_opt", "%q has no Kubernetes equivalent: left out", opt)
		}
	}
}

// lifecycle maps the first post_start and pre_stop hooks to exec hooks;
// Kubernetes runs them as the container's user, in its environment.
func (c *converter) lifecycle(s types.ServiceConfig) *corev1.Lifecycle {
	hook := func(key string, hooks []types.ServiceHook) *corev1.LifecycleHandler {
		if len(hooks) == 0 {
			return nil
		}
		if len(hooks) > 1 {
			c.warn(s.Name, key, "Kubernetes runs one hook: only the first is kept")
		}
		h := hooks[0]
		if h.User != "" || h.Privileged || h.WorkingDir != "" || len(h.Environment) > 0 {
			c.warn(s.Name, key, "the hook runs as the container does: its user, privileged, working_dir and environment are left out")
		}
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: literal(h.Command)}}
	}
	lc := &corev1.Lifecycle{PostStart: hook("post_start", s.PostStart), PreStop: hook("pre_stop", s.PreStop)}
	if lc.PostStart == nil && lc.PreStop == nil {
		return nil
	}
	return lc
}

func (c *converter) pullPolicy(s types.ServiceConfig) corev1.PullPolicy {
	switch s.PullPolicy {
	case "", types.PullPolicyBuild:
		return ""
	case types.PullPolicyAlways:
		return corev1.PullAlways
	case types.PullPolicyNever:
		return corev1.PullNever
	case types.PullPolicyMissing, types.PullPolicyIfNotPresent:
		return corev1.PullIfNotPresent
	}
	c.warn(s.Name, "pull_policy", "%q has no Kubernetes equivalent: the cluster's default applies", s.PullPolicy)
	return ""
}

// image is the service's image; a built one is named as `berth build`
// tags it, rewritten under --registry, or reported: a cluster pulls images,
// it cannot read the local image store.
func (c *converter) image(s types.ServiceConfig) string {
	img := project.ImageName(c.p.Name, s)
	if s.Build == nil {
		return img
	}
	if c.opts.Registry != "" {
		return project.RegistryImage(c.opts.Registry, img)
	}
	if !project.HasRegistry(img) {
		c.warn(s.Name, "build", "image %q is built locally and names no registry: a cluster cannot pull it; push it and convert with --registry HOST/PATH", img)
	}
	return img
}
