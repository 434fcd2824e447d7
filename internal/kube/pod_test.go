package kube

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func podOf(t *testing.T, res *Result, name string) corev1.PodTemplateSpec {
	t.Helper()
	return object[*appsv1.Deployment](t, res, "Deployment", name).Spec.Template
}

func TestSecurityFields(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web:
    image: nginx
    user: "1000:2000"
    group_add: ["3000", "audio"]
    cap_add: [NET_ADMIN, CAP_SYS_TIME]
    cap_drop: [ALL]
    read_only: true
    security_opt: ["no-new-privileges:true", "apparmor=unconfined", "label:disable"]
    sysctls:
      net.ipv4.ip_unprivileged_port_start: "0"
      net.core.somaxconn: "1024"
  root:
    image: x
    user: postgres
    privileged: true
    security_opt: ["seccomp:unconfined", "no-new-privileges"]
  host:
    image: x
    network_mode: host
    pid: host
    ipc: host
    sysctls: {net.ipv4.tcp_syncookies: "1", kernel.shm_rmid_forced: "1"}
`, Options{})
	web := podOf(t, res, "web").Spec
	sc := web.Containers[0].SecurityContext
	if *sc.RunAsUser != 1000 || *sc.RunAsGroup != 2000 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!reflect.DeepEqual(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "SYS_TIME"}) ||
		!reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.AppArmorProfile.Type != corev1.AppArmorProfileTypeUnconfined {
		t.Errorf("web container security %+v", sc)
	}
	if !reflect.DeepEqual(web.SecurityContext.SupplementalGroups, []int64{3000}) ||
		web.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("web pod security %+v", web.SecurityContext)
	}
	if want := []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}, {Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}; !reflect.DeepEqual(web.SecurityContext.Sysctls, want) {
		t.Errorf("sysctls %v", web.SecurityContext.Sysctls)
	}
	requireWarning(t, res, "web", "sysctls", "net.core.somaxconn", "not a safe sysctl")
	requireWarning(t, res, "web", "group_add", "audio")
	requireWarning(t, res, "web", "security_opt", "label:disable")

	root := podOf(t, res, "root").Spec
	if rsc := root.Containers[0].SecurityContext; !*rsc.Privileged || rsc.RunAsUser != nil || rsc.AllowPrivilegeEscalation != nil ||
		rsc.SeccompProfile.Type != corev1.SeccompProfileTypeUnconfined || root.SecurityContext.SeccompProfile != nil {
		t.Errorf("root security %+v / %+v", rsc, root.SecurityContext)
	}
	requireWarning(t, res, "root", "user", "numeric ids only")
	requireWarning(t, res, "root", "no-new-privileges", "privileged")

	host := podOf(t, res, "host").Spec
	if !host.HostNetwork || !host.HostPID || !host.HostIPC || host.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("host namespaces %+v", host)
	}
	if len(host.SecurityContext.Sysctls) != 0 {
		t.Errorf("host sysctls %v", host.SecurityContext.Sysctls)
	}
	requireWarning(t, res, "host", "net.ipv4.tcp_syncookies", "host's network")
	requireWarning(t, res, "host", "kernel.shm_rmid_forced", "host's IPC")

	levels := map[string]string{}
	for _, ps := range res.PodSecurity {
		levels[ps.Service] = ps.Level
	}
	if want := map[string]string{"web": "privileged", "root": "privileged", "host": "privileged"}; !reflect.DeepEqual(levels, want) {
		t.Errorf("pod security %v", levels)
	}
	requireWarning(t, res, "host", "privileged Pod Security level", "hostNetwork")
}

func TestPodSecurityLevels(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  plain: {image: nginx}
  strict:
    image: app
    user: "1000"
    cap_drop: [ALL]
    security_opt: [no-new-privileges]
`, Options{})
	got := map[string]string{}
	for _, ps := range res.PodSecurity {
		got[ps.Service] = ps.Level
	}
	if want := map[string]string{"plain": "baseline", "strict": "restricted"}; !reflect.DeepEqual(got, want) {
		t.Errorf("levels %v, want %v (%+v)", got, want, res.PodSecurity)
	}
}

func TestPodFields(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web:
    image: nginx
    hostname: web.internal
    extra_hosts: ["db.local=10.0.0.5", "cache.local=10.0.0.5", "gw=host-gateway", "v6=::1"]
    dns: [8.8.8.8]
    dns_search: [corp.example]
    dns_opt: ["ndots:2", "edns0"]
    platform: linux/arm64/v8
    init: true
    stop_grace_period: 1m30s
    working_dir: /srv
    tty: true
    stdin_open: true
    entrypoint: ["/entry"]
    command: ["serve", "--port", "80"]
    labels: {com.example.team: web, "bad key!": x}
    annotations: {com.example.note: hi}
    deploy:
      labels: {com.example.tier: front}
    post_start: [{command: ["/hook", "up"]}]
    pre_stop: [{command: ["/hook", "down"], user: root}]
    pull_policy: always
`, Options{})
	d := object[*appsv1.Deployment](t, res, "Deployment", "web")
	pod := d.Spec.Template
	s := pod.Spec
	c := s.Containers[0]
	if s.Hostname != "web" || *s.ShareProcessNamespace != true || *s.TerminationGracePeriodSeconds != 90 ||
		s.NodeSelector[corev1.LabelOSStable] != "linux" || s.NodeSelector[corev1.LabelArchStable] != "arm64" {
		t.Errorf("pod %+v", s)
	}
	wantHosts := []corev1.HostAlias{{IP: "10.0.0.5", Hostnames: []string{"cache.local", "db.local"}}, {IP: "::1", Hostnames: []string{"v6"}}}
	if !reflect.DeepEqual(s.HostAliases, wantHosts) {
		t.Errorf("hostAliases %v", s.HostAliases)
	}
	if s.DNSConfig.Searches[0] != "corp.example" || s.DNSConfig.Options[0].Name != "ndots" || *s.DNSConfig.Options[0].Value != "2" || s.DNSConfig.Options[1].Value != nil {
		t.Errorf("dnsConfig %+v", s.DNSConfig)
	}
	if c.WorkingDir != "/srv" || !c.TTY || !c.Stdin || !reflect.DeepEqual(c.Command, []string{"/entry"}) ||
		!reflect.DeepEqual(c.Args, []string{"serve", "--port", "80"}) || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("container %+v", c)
	}
	if !reflect.DeepEqual(c.Lifecycle.PostStart.Exec.Command, []string{"/hook", "up"}) || c.Lifecycle.PreStop == nil {
		t.Errorf("hooks %+v", c.Lifecycle)
	}
	if pod.Annotations["com.example.team"] != "web" || pod.Annotations["com.example.note"] != "hi" || d.Annotations["com.example.tier"] != "front" {
		t.Errorf("annotations pod %v workload %v", pod.Annotations, d.Annotations)
	}
	for _, parts := range [][]string{{"extra_hosts", "host-gateway"}, {"dns", "left out"}, {"hostname", `is "web"`},
		{"platform", "v8"}, {"labels", "bad key!"}, {"pre_stop", "user"}} {
		requireWarning(t, res, "web", parts...)
	}
}

func TestResources(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  deploy:
    image: x
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 256M}
        reservations: {cpus: "0.25", memory: 512M}
  keys:
    image: x
    cpus: 1.5
    mem_limit: 128m
    mem_reservation: 64m
`, Options{})
	r := podOf(t, res, "deploy").Spec.Containers[0].Resources
	check := func(name string, list corev1.ResourceList, key corev1.ResourceName, want string) {
		if q := list[key]; q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("%s %s = %s, want %s", name, key, q.String(), want)
		}
	}
	check("deploy limit", r.Limits, corev1.ResourceCPU, "500m")
	check("deploy limit", r.Limits, corev1.ResourceMemory, "256Mi")
	check("deploy request", r.Requests, corev1.ResourceCPU, "250m")
	check("deploy request", r.Requests, corev1.ResourceMemory, "256Mi")
	requireWarning(t, res, "deploy", "memory reservation is above its limit")
	k := podOf(t, res, "keys").Spec.Containers[0].Resources
	check("keys limit", k.Limits, corev1.ResourceCPU, "1500m")
	check("keys limit", k.Limits, corev1.ResourceMemory, "128Mi")
	check("keys request", k.Requests, corev1.ResourceMemory, "64Mi")
}

func TestImages(t *testing.T) {
	compose := `
name: app
services:
  web: {build: ., image: team/web:1.2}
  api: {build: .}
  pushed: {build: ., image: "registry.example:5000/x/api"}
  db: {image: postgres:17}
`
	res := convertYAML(t, compose, Options{})
	images := func(res *Result) map[string]string {
		out := map[string]string{}
		for _, name := range []string{"web", "api", "pushed", "db"} {
			out[name] = podOf(t, res, name).Spec.Containers[0].Image
		}
		return out
	}
	if want := map[string]string{"web": "team/web:1.2", "api": "app-api", "pushed": "registry.example:5000/x/api", "db": "postgres:17"}; !reflect.DeepEqual(images(res), want) {
		t.Errorf("images %v", images(res))
	}
	requireWarning(t, res, "web", "build", "cannot pull")
	requireWarning(t, res, "api", "build", "cannot pull")
	if len(warningsWith(res, "pushed", "build")) != 0 || len(warningsWith(res, "db", "build")) != 0 {
		t.Errorf("warnings %v", res.Warnings)
	}
	res = mustConvert(t, loadFiles(t, map[string]string{"compose.yaml": compose}), Options{Registry: "reg.local:5000/team"})
	want := map[string]string{"web": "reg.local:5000/team/team/web:1.2", "api": "reg.local:5000/team/app-api",
		"pushed": "reg.local:5000/team/x/api", "db": "postgres:17"}
	if !reflect.DeepEqual(images(res), want) {
		t.Errorf("--registry images %v, want %v", images(res), want)
	}
}

// TestUnsupportedKeysWarnOnce: every key without an equivalent is one
// warning naming the service and the key.
func TestUnsupportedKeysWarnOnce(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web:
    image: nginx
    devices: ["/dev/fuse"]
    ulimits: {nofile: 1024}
    cpu_shares: 512
    pids_limit: 100
    oom_score_adj: 10
    logging: {driver: syslog}
    stop_signal: SIGQUIT
    mac_address: 02:42:ac:11:00:02
    cgroup_parent: /x
    runtime: runsc
    deploy: {mode: global, placement: {constraints: [node.role==manager]}}
    networks:
      default: {ipv4_address: 172.20.0.5}
networks:
  default:
    ipam: {config: [{subnet: 172.20.0.0/16}]}
`, Options{})
	for _, key := range []string{"devices", "ulimits", "cpu_shares", "pids_limit", "oom_score_adj", "logging", "stop_signal",
		"mac_address", "cgroup_parent", "runtime", "deploy.mode", "deploy.placement", "networks.default"} {
		requireWarning(t, res, "web", key+": ")
	}
	requireWarning(t, res, "", "networks.default.ipam")
}
