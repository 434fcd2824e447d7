package kube

import (
	"maps"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// podTemplate is the pod a service's containers run in.
func (c *converter) podTemplate(sp *servicePlan) (corev1.PodTemplateSpec, error) {
	s := sp.s
	ctr, err := c.mainContainer(sp)
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	spec := corev1.PodSpec{
		Containers: []corev1.Container{ctr},
		// Compose containers hold no credentials of the orchestrator
		AutomountServiceAccountToken:  ptr.To(false),
		TerminationGracePeriodSeconds: ptr.To(int64(math.Ceil(stopGraceOf(s).Seconds()))),
		HostNetwork:                   sp.hostNet,
		HostPID:                       s.Pid == "host",
		HostIPC:                       s.Ipc == "host",
		Hostname:                      c.hostname(s),
		HostAliases:                   c.hostAliases(s),
		DNSConfig:                     c.dnsConfig(s),
		SecurityContext:               c.podSecurityContext(sp),
		NodeSelector:                  c.nodeSelector(s),
	}
	if s.Init != nil && *s.Init {
		if spec.HostPID {
			c.warn(s.Name, "init", "with pid: host the pod cannot share its own process namespace: left out")
		} else {
			// the pod's pause process becomes PID 1 and reaps zombies, as
			// Docker's init does
			spec.ShareProcessNamespace = ptr.To(true)
		}
	}
	if sp.hostNet {
		spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	if err := c.storage(sp, &spec); err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	if err := c.fileMounts(sp, &spec); err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	c.waits(sp, &spec)
	c.preStart(sp, &spec)
	meta := metav1.ObjectMeta{Labels: c.podLabels(sp), Annotations: c.podAnnotations(s)}
	return corev1.PodTemplateSpec{ObjectMeta: meta, Spec: spec}, nil
}

// podLabels select the service's pods and say which Compose networks they
// are on, for the NetworkPolicies.
func (c *converter) podLabels(sp *servicePlan) map[string]string {
	labels := c.selector(sp)
	labels[labelManagedBy] = managedBy
	for _, a := range sp.networks {
		labels[networkLabel(a.Name)] = "true"
	}
	return labels
}

// podAnnotations carry the service's labels and annotations: label values
// in Kubernetes are restricted, annotation values are not.
func (c *converter) podAnnotations(s types.ServiceConfig) map[string]string {
	ann := map[string]string{}
	c.copyAnnotations(s.Name, "labels", s.Labels, ann)
	c.copyAnnotations(s.Name, "annotations", s.Annotations, ann)
	if len(ann) == 0 {
		return nil
	}
	return ann
}

// hostname keeps the first label of a dotted hostname (a pod's hostname
// is one label).
func (c *converter) hostname(s types.ServiceConfig) string {
	if s.Hostname == "" {
		if s.DomainName != "" {
			c.warn(s.Name, "domainname", "a pod's domain is its Service's: left out")
		}
		return ""
	}
	host, domain, _ := strings.Cut(s.Hostname, ".")
	if len(validation.IsDNS1123Label(host)) > 0 {
		c.warn(s.Name, "hostname", "%q is not a valid pod hostname: the pod's name is used", s.Hostname)
		return ""
	}
	if domain != "" || s.DomainName != "" {
		c.warn(s.Name, "hostname", "a pod's hostname is one label: %q is %q, its domain is the Service's", s.Hostname, host)
	}
	return host
}

// hostAliases turns extra_hosts into /etc/hosts entries, grouped by address.
func (c *converter) hostAliases(s types.ServiceConfig) []corev1.HostAlias {
	byIP := map[string][]string{}
	for _, host := range slices.Sorted(maps.Keys(s.ExtraHosts)) {
		for _, ip := range s.ExtraHosts[host] {
			addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
			if err != nil {
				c.warn(s.Name, "extra_hosts", "%s=%s: only addresses fit in hostAliases (host-gateway has no pod equivalent): left out", host, ip)
				continue
			}
			byIP[addr.String()] = append(byIP[addr.String()], host)
		}
	}
	var out []corev1.HostAlias
	for _, ip := range slices.Sorted(maps.Keys(byIP)) {
		out = append(out, corev1.HostAlias{IP: ip, Hostnames: byIP[ip]})
	}
	return out
}

// dnsConfig adds dns_search and dns_opt to the cluster's DNS settings; dns
// servers would replace the cluster's DNS, which resolves service names.
func (c *converter) dnsConfig(s types.ServiceConfig) *corev1.PodDNSConfig {
	if len(s.DNS) > 0 {
		c.warn(s.Name, "dns", "the cluster's DNS resolves service names and stays the pod's resolver: left out")
	}
	if len(s.DNSSearch) == 0 && len(s.DNSOpts) == 0 {
		return nil
	}
	cfg := &corev1.PodDNSConfig{Searches: slices.Clone([]string(s.DNSSearch))}
	for _, opt := range s.DNSOpts {
		name, value, ok := strings.Cut(opt, ":")
		o := corev1.PodDNSConfigOption{Name: name}
		if ok {
			o.Value = ptr.To(value)
		}
		cfg.Options = append(cfg.Options, o)
	}
	return cfg
}

// podSecurityContext holds what Kubernetes sets per pod: sysctls,
// supplementary groups, and the runtime's default seccomp profile, which
// Docker applies to every container that does not opt out.
func (c *converter) podSecurityContext(sp *servicePlan) *corev1.PodSecurityContext {
	s := sp.s
	sc := &corev1.PodSecurityContext{Sysctls: c.sysctls(sp)}
	if !s.Privileged && !slices.ContainsFunc(s.SecurityOpt, isSeccompOpt) {
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	for _, g := range s.GroupAdd {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			c.warn(s.Name, "group_add", "%q: Kubernetes takes numeric group ids only: left out", g)
			continue
		}
		sc.SupplementalGroups = append(sc.SupplementalGroups, gid)
	}
	return sc
}

func isSeccompOpt(opt string) bool {
	return strings.HasPrefix(opt, "seccomp:") || strings.HasPrefix(opt, "seccomp=")
}

// safeSysctls are the sysctls the kubelet allows by default (the same list
// as Pod Security's baseline level).
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_notsent_lowat",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_wmem",
}

var sysctlName = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// sysctls are set per pod in Kubernetes. The API accepts any well-formed
// name, but the kubelet refuses a pod with an unsafe sysctl unless the node
// allows it: those are kept and reported.
func (c *converter) sysctls(sp *servicePlan) []corev1.Sysctl {
	s := sp.s
	var out []corev1.Sysctl
	for _, name := range slices.Sorted(maps.Keys(s.Sysctls)) {
		dotted := strings.ReplaceAll(name, "/", ".")
		switch {
		case !sysctlName.MatchString(name) || len(name) > 253:
			c.warn(s.Name, "sysctls", "%q is not a valid sysctl name: left out", name)
			continue
		case sp.hostNet && strings.HasPrefix(dotted, "net."):
			c.warn(s.Name, "sysctls", "%q: a pod on the host's network cannot set network sysctls: left out", name)
			continue
		case s.Ipc == "host" && isIPCSysctl(dotted):
			c.warn(s.Name, "sysctls", "%q: a pod sharing the host's IPC namespace cannot set IPC sysctls: left out", name)
			continue
		case !slices.Contains(safeSysctls, dotted):
			c.warn(s.Name, "sysctls", "%q is not a safe sysctl: the kubelet refuses the pod unless the node allows it (--allowed-unsafe-sysctls)", name)
		}
		out = append(out, corev1.Sysctl{Name: name, Value: s.Sysctls[name]})
	}
	return out
}

// isIPCSysctl: the sysctls of the IPC namespace, as the kubelet groups them.
func isIPCSysctl(name string) bool {
	for _, prefix := range []string{"kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue."} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// nodeSelector pins the pods to the platform's OS and architecture.
func (c *converter) nodeSelector(s types.ServiceConfig) map[string]string {
	if s.Platform == "" {
		return nil
	}
	parts := strings.Split(s.Platform, "/")
	if len(parts) > 2 {
		c.warn(s.Name, "platform", "the variant %q has no node label: only the OS and architecture select nodes", parts[2])
	}
	sel := map[string]string{corev1.LabelOSStable: parts[0]}
	if len(parts) > 1 {
		sel[corev1.LabelArchStable] = parts[1]
	}
	return sel
}

// preStart runs pre_start hooks as init containers, after the waits for
// dependencies: a hook (a migration, say) may need them.
func (c *converter) preStart(sp *servicePlan, spec *corev1.PodSpec) {
	main := spec.Containers[0]
	for i, h := range sp.s.PreStart {
		ctr := corev1.Container{
			Name:       joinName(sp.name, "pre-start-"+strconv.Itoa(i)),
			Image:      main.Image,
			WorkingDir: h.WorkingDir,
			Env:        main.Env,
			EnvFrom:    main.EnvFrom,
		}
		if h.Image != "" {
			ctr.Image = h.Image
		}
		if h.Entrypoint != nil {
			ctr.Command = literal(h.Entrypoint)
		}
		if h.Command != nil {
			ctr.Args = literal(h.Command)
		}
		if h.Environment != nil {
			ctr.Env = envVars(environmentOf(types.ServiceConfig{ContainerSpec: h.ContainerSpec}))
		}
		ctr.VolumeMounts = main.VolumeMounts
		ctr.SecurityContext = main.SecurityContext
		if !h.PerReplica && sp.replicas > 1 {
			c.warn(sp.s.Name, "pre_start", "an init container runs once per pod: hook %d runs once per replica", i)
		}
		spec.InitContainers = append(spec.InitContainers, ctr)
	}
}
