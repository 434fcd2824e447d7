package kube

import (
	"maps"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Reasons a key has no Kubernetes equivalent, shared by many keys.
const (
	noField   = "no Kubernetes field sets it: left out"
	noLogging = "the cluster collects container output its own way: left out"
	noDevice  = "devices and GPUs come from device plugins as extended resources (e.g. nvidia.com/gpu): left out"
)

// unsupported warns once for each key of the service that the output
// cannot express, naming the key.
func (c *converter) unsupported(sp *servicePlan) {
	s := sp.s
	for _, u := range unsupportedKeys(s) {
		if u.set {
			c.warn(s.Name, u.key, "%s", u.why)
		}
	}
	c.networkModeWarnings(sp)
	for _, key := range slices.Sorted(maps.Keys(s.Networks)) {
		n := s.Networks[key]
		if n != nil && (n.Ipv4Address != "" || n.Ipv6Address != "" || len(n.LinkLocalIPs) > 0 || n.MacAddress != "") {
			c.warn(s.Name, "networks."+key, "fixed addresses are the cluster's to assign: left out")
		}
	}
	if s.StopSignal != "" && s.StopSignal != "SIGTERM" && s.StopSignal != "TERM" && s.StopSignal != "15" {
		c.warn(s.Name, "stop_signal", "%s: Kubernetes stops containers with SIGTERM (the image's STOPSIGNAL applies with some runtimes): left out", s.StopSignal)
	}
}

type unsupportedKey struct {
	set      bool
	key, why string
}

func unsupportedKeys(s types.ServiceConfig) []unsupportedKey {
	d := s.Deploy
	if d == nil {
		d = &types.DeployConfig{}
	}
	limits, reservations := d.Resources.Limits, d.Resources.Reservations
	return []unsupportedKey{
		{len(s.Devices) > 0, "devices", noDevice},
		{len(s.Gpus) > 0, "gpus", noDevice},
		{reservations != nil && len(reservations.Devices) > 0, "deploy.resources.reservations.devices", noDevice},
		{reservations != nil && len(reservations.GenericResources) > 0, "deploy.resources.reservations.generic_resources", noDevice},
		{limits != nil && limits.Pids > 0, "deploy.resources.limits.pids", "the pid limit is the node's (kubelet podPidsLimit): left out"},
		{s.PidsLimit > 0, "pids_limit", "the pid limit is the node's (kubelet podPidsLimit): left out"},
		{s.BlkioConfig != nil, "blkio_config", noField},
		{s.CgroupParent != "", "cgroup_parent", "the kubelet places pods in its cgroups: left out"},
		{s.Cgroup != "", "cgroup", noField},
		{s.CPUShares != 0, "cpu_shares", "CPU weight follows the CPU request (deploy.resources.reservations.cpus): left out"},
		{s.CPUQuota != 0 || s.CPUPeriod != 0, "cpu_quota", "set cpus or deploy.resources.limits.cpus instead: left out"},
		{s.CPURTRuntime != 0 || s.CPURTPeriod != 0, "cpu_rt_runtime", noField},
		{s.CPUSet != "", "cpuset", "CPU pinning is the kubelet's CPU manager's: left out"},
		{s.CPUCount != 0 || s.CPUPercent != 0, "cpu_count", noField},
		{s.MemSwapLimit != 0 || s.MemSwappiness != 0, "memswap_limit", "swap is the node's (kubelet memorySwap): left out"},
		{s.OomKillDisable, "oom_kill_disable", noField},
		{s.OomScoreAdj != 0, "oom_score_adj", "the kubelet sets it from the pod's QoS class: left out"},
		{len(s.Ulimits) > 0, "ulimits", "limits are the container runtime's defaults on the node: left out"},
		{len(s.StorageOpt) > 0, "storage_opt", noField},
		{len(s.DeviceCgroupRules) > 0, "device_cgroup_rules", noField},
		{s.Isolation != "", "isolation", noField},
		{s.Runtime != "", "runtime", "a RuntimeClass (runtimeClassName) names the cluster's runtimes, not Docker's: left out"},
		{s.UserNSMode != "" && s.UserNSMode != "host", "userns_mode", noField},
		{s.Uts != "", "uts", "a pod shares the host's UTS namespace only with hostNetwork: left out"},
		{s.CredentialSpec != nil, "credential_spec", noField},
		{s.MacAddress != "", "mac_address", "addresses are the cluster's to assign: left out"},
		{s.Logging != nil && (s.Logging.Driver != "" || len(s.Logging.Options) > 0), "logging", noLogging},
		{s.LogDriver != "" || len(s.LogOpt) > 0, "log_driver", noLogging},
		{len(s.VolumesFrom) > 0, "volumes_from", "pods do not share another's volumes: mount the same named volume instead: left out"},
		{len(s.ExternalLinks) > 0, "external_links", "containers outside the project are not in the cluster: left out"},
		{s.VolumeDriver != "", "volume_driver", "claims take a storage class (x-kubernetes.storageClass, --storage-class): left out"},
		{s.UseAPISocket, "use_api_socket", "there is no Docker API in a cluster: left out"},
		{s.Umask != nil, "umask", noField},
		{s.Provider != nil, "provider", "a provider service is run by a Compose plugin, not as a container: left out"},
		{len(s.Models) > 0, "models", "models are run by Docker Model Runner: left out"},
		{s.Develop != nil, "develop", "berth watch syncs files into local containers only: left out"},
		{s.PullRefreshAfter != "", "pull_refresh_after", noField},
		{s.Ipc != "" && s.Ipc != "host", "ipc", "pods share IPC only with the host (hostIPC) or within the pod: left out"},
		{s.Pid != "" && s.Pid != "host", "pid", "pods share PIDs only with the host (hostPID) or within the pod: left out"},
		{d.Mode == "global", "deploy.mode", "global (one per node) would be a DaemonSet: it is a Deployment"},
		{len(d.Placement.Constraints) > 0 || len(d.Placement.Preferences) > 0 || d.Placement.MaxReplicas > 0, "deploy.placement", "Swarm's placement does not map to node labels of a cluster: left out"},
		{d.UpdateConfig != nil || d.RollbackConfig != nil, "deploy.update_config", "Deployments roll out with their own strategy: left out"},
		{d.EndpointMode != "", "deploy.endpoint_mode", "--service-type chooses between DNS round robin (headless) and a virtual IP: left out"},
		{d.RestartPolicy != nil && (d.RestartPolicy.Delay != nil || d.RestartPolicy.Window != nil), "deploy.restart_policy", "the kubelet's back-off sets the delay between restarts: delay and window left out"},
	}
}

// networkModeWarnings: a pod has its own network namespace unless it is
// the host's.
func (c *converter) networkModeWarnings(sp *servicePlan) {
	mode := sp.s.NetworkMode
	switch {
	case mode == "" || mode == "host" || mode == "none":
	case strings.HasPrefix(mode, types.NetworkModeServicePrefix):
		c.warn(sp.s.Name, "network_mode", "%q: a pod cannot join another pod's network namespace: it runs in its own pod, on the same networks, and localhost is not shared", mode)
	default:
		c.warn(sp.s.Name, "network_mode", "%q has no Kubernetes equivalent: the pod is on the cluster network, reachable by every pod", mode)
	}
}

// projectWarnings: the keys of networks and volumes a cluster provides its
// own way, and top-level elements that are not converted.
func (c *converter) projectWarnings() {
	if len(c.p.Jobs) > 0 {
		c.warn("", "jobs", "top-level jobs are not converted: %s", strings.Join(slices.Sorted(maps.Keys(c.p.Jobs)), ", "))
	}
	if len(c.p.Models) > 0 {
		c.warn("", "models", "models are run by Docker Model Runner: left out")
	}
	for _, key := range slices.Sorted(maps.Keys(c.p.Networks)) {
		n := c.p.Networks[key]
		if n.Driver != "" && n.Driver != "bridge" {
			c.warn("", "networks."+key+".driver", "%s: networks are NetworkPolicies over the cluster's network: left out", n.Driver)
		}
		if len(n.DriverOpts) > 0 {
			c.warn("", "networks."+key+".driver_opts", "%s", noField)
		}
		if len(n.Ipam.Config) > 0 || n.Ipam.Driver != "" {
			c.warn("", "networks."+key+".ipam", "addresses are the cluster's to assign: left out")
		}
		if n.EnableIPv6 != nil && *n.EnableIPv6 {
			c.warn("", "networks."+key+".enable_ipv6", "IP families are the cluster's: left out")
		}
	}
	for _, key := range slices.Sorted(maps.Keys(c.volumes)) {
		v := c.volumes[key].cfg
		if v.Driver != "" && v.Driver != "local" {
			c.warn("", "volumes."+key+".driver", "%s: claims take a storage class (x-kubernetes.storageClass, --storage-class): left out", v.Driver)
		}
		if len(v.DriverOpts) > 0 {
			c.warn("", "volumes."+key+".driver_opts", "claims take a storage class (a driver_opts bind is a host path, which a cluster's nodes do not have): left out")
		}
	}
}
