package kube

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const servicesCompose = `
name: app
services:
  web:
    image: nginx
    ports: ["127.0.0.1:8080:80", "30443:443", "9000:9000/udp", "5000"]
    expose: ["81"]
    container_name: frontend
    networks:
      front: {aliases: [www, Api_V1]}
  worker:
    image: w
    links: ["web:site"]
    networks: [back]
  cache:
    image: redis
    hostname: www
    networks: [back]
networks:
  front:
  back:
`

func TestServicesPerService(t *testing.T) {
	res := convertYAML(t, servicesCompose, Options{})
	for _, name := range []string{"web", "worker", "cache"} {
		svc := object[*corev1.Service](t, res, "Service", name)
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Spec.Selector[labelName] != name {
			t.Errorf("%s: clusterIP %q selector %v", name, svc.Spec.ClusterIP, svc.Spec.Selector)
		}
	}
	web := object[*corev1.Service](t, res, "Service", "web")
	var ports []string
	for _, p := range web.Spec.Ports {
		ports = append(ports, p.Name)
	}
	if want := []string{"tcp-80", "tcp-81", "tcp-443", "tcp-5000", "udp-9000"}; !reflect.DeepEqual(ports, want) {
		t.Errorf("web ports %v, want %v", ports, want)
	}
	// container_name, network aliases, link aliases: one Service each
	for _, alias := range []string{"frontend", "api-v1", "site"} {
		if svc := object[*corev1.Service](t, res, "Service", alias); svc.Spec.Selector[labelName] != "web" {
			t.Errorf("alias %s selects %v", alias, svc.Spec.Selector)
		}
	}
	requireWarning(t, res, "web", `"Api_V1" is not a valid Kubernetes name`)
	// two services claim www (a hostname, an alias): the first by name keeps it
	if svc := object[*corev1.Service](t, res, "Service", "www"); svc.Spec.Selector[labelName] != "cache" {
		t.Errorf("www selects %v", svc.Spec.Selector)
	}
	requireWarning(t, res, "web", `"www" resolves to "cache" already`)
}

func TestClusterIPServices(t *testing.T) {
	res := convertYAML(t, servicesCompose, Options{ServiceType: ServiceClusterIP})
	if web := object[*corev1.Service](t, res, "Service", "web"); web.Spec.ClusterIP != "" || web.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("web %+v", web.Spec)
	}
	// nothing to forward: a ClusterIP Service needs ports, the name still resolves
	if worker := object[*corev1.Service](t, res, "Service", "worker"); worker.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("worker %+v", worker.Spec)
	}
}

func TestPublishedServices(t *testing.T) {
	res := convertYAML(t, servicesCompose, Options{})
	pub := object[*corev1.Service](t, res, "Service", "web-published")
	if pub.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("type %s", pub.Spec.Type)
	}
	type port struct {
		Port, Target int32
		Proto        corev1.Protocol
	}
	var got []port
	for _, p := range pub.Spec.Ports {
		got = append(got, port{p.Port, p.TargetPort.IntVal, p.Protocol})
	}
	want := []port{{5000, 5000, "TCP"}, {8080, 80, "TCP"}, {9000, 9000, "UDP"}, {30443, 443, "TCP"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published ports %v, want %v", got, want)
	}
	requireWarning(t, res, "web", "host IP 127.0.0.1")
	if hasObject(res, "Service", "worker-published") {
		t.Error("worker publishes nothing")
	}

	res = convertYAML(t, servicesCompose, Options{PublishAs: PublishNodePort})
	pub = object[*corev1.Service](t, res, "Service", "web-published")
	nodePorts := map[int32]int32{}
	for _, p := range pub.Spec.Ports {
		nodePorts[p.Port] = p.NodePort
	}
	if pub.Spec.Type != corev1.ServiceTypeNodePort || nodePorts[30443] != 30443 || nodePorts[8080] != 0 {
		t.Errorf("node ports %v", nodePorts)
	}
	requireWarning(t, res, "web", "published port 8080 is outside the node port range")

	res = convertYAML(t, servicesCompose, Options{PublishAs: PublishNone})
	if hasObject(res, "Service", "web-published") || hasObject(res, "NetworkPolicy", "web-published") {
		t.Error("--publish-as none published")
	}
}

// TestNetworkPolicies: pods talk to pods on a shared network, DNS anywhere,
// the outside unless every network of theirs is internal; published ports
// take connections from anywhere.
func TestNetworkPolicies(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  web:
    image: nginx
    ports: ["8080:80"]
    networks: [front]
  api:
    image: api
    networks: [front, back]
  db:
    image: postgres
    networks: [back]
  sidecar:
    image: s
    network_mode: "service:api"
  offline:
    image: o
    network_mode: none
  host:
    image: h
    network_mode: host
networks:
  front:
  back: {internal: true}
`, Options{})
	labels := func(name string) map[string]string {
		return object[*appsv1.Deployment](t, res, "Deployment", name).Spec.Template.Labels
	}
	front, back := networkLabel("app_front"), networkLabel("app_back")
	if l := labels("api"); l[front] != "true" || l[back] != "true" {
		t.Errorf("api labels %v", l)
	}
	if l := labels("sidecar"); l[front] != "true" || l[back] != "true" {
		t.Errorf("sidecar has api's networks: %v", l)
	}
	requireWarning(t, res, "sidecar", "network_mode", "localhost is not shared")
	if l := labels("host"); l[front] != "" || l[back] != "" {
		t.Errorf("host labels %v", l)
	}
	backPolicy := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "app-back")
	if backPolicy.Spec.PodSelector.MatchLabels[back] != "true" ||
		backPolicy.Spec.Ingress[0].From[0].PodSelector.MatchLabels[back] != "true" {
		t.Errorf("back policy %+v", backPolicy.Spec)
	}
	if n := len(backPolicy.Spec.Egress); n != 2 || !isDNSRule(backPolicy.Spec.Egress[1]) {
		t.Errorf("internal network: egress %+v, want its pods and DNS only", backPolicy.Spec.Egress)
	}
	frontPolicy := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "app-front")
	if last := frontPolicy.Spec.Egress[len(frontPolicy.Spec.Egress)-1]; len(frontPolicy.Spec.Egress) != 3 || len(last.To) != 0 || len(last.Ports) != 0 {
		t.Errorf("front egress %+v, want an allow-all rule last", frontPolicy.Spec.Egress)
	}
	published := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "web-published")
	if in := published.Spec.Ingress[0]; len(in.From) != 0 || in.Ports[0].Port.IntVal != 80 {
		t.Errorf("published ingress %+v", in)
	}
	isolated := object[*networkingv1.NetworkPolicy](t, res, "NetworkPolicy", "offline-isolated")
	if len(isolated.Spec.PolicyTypes) != 2 || len(isolated.Spec.Ingress)+len(isolated.Spec.Egress) != 0 {
		t.Errorf("network_mode none: %+v", isolated.Spec)
	}
}

// TestNetworkModeContainerOfTheProject: network_mode container: naming one of
// the project's own containers is warned as any container: is, and its pod
// waits for that container's service as a depends_on would make it.
func TestNetworkModeContainerOfTheProject(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  api:
    image: api
  probe:
    image: p
    network_mode: "container:app-api-1"
  outsider:
    image: o
    network_mode: "container:someone-else"
`, Options{})
	requireWarning(t, res, "probe", "network_mode", "no Kubernetes equivalent")
	if ic := object[*appsv1.Deployment](t, res, "Deployment", "probe").Spec.Template.Spec.InitContainers; len(ic) != 1 || ic[0].Name != "wait-api" {
		t.Errorf("probe's init containers %+v, want wait-api", ic)
	}
	if ic := object[*appsv1.Deployment](t, res, "Deployment", "outsider").Spec.Template.Spec.InitContainers; len(ic) != 0 {
		t.Errorf("a container outside the project is waited for: %+v", ic)
	}
}

func isDNSRule(r networkingv1.NetworkPolicyEgressRule) bool {
	if len(r.To) != 0 || len(r.Ports) != 2 {
		return false
	}
	return *r.Ports[0].Protocol == corev1.ProtocolUDP && r.Ports[0].Port.IntVal == 53 &&
		*r.Ports[1].Protocol == corev1.ProtocolTCP && r.Ports[1].Port.IntVal == 53
}

// TestNamesTransformedEverywhere: a service named with an underscore and a
// capital is the same valid name in its workload, Service, selector,
// container, the waits of its dependents and the policies.
func TestNamesTransformedEverywhere(t *testing.T) {
	res := convertYAML(t, `
name: app
services:
  Api_Server:
    image: api
  web:
    image: nginx
    depends_on: [Api_Server]
`, Options{})
	d := object[*appsv1.Deployment](t, res, "Deployment", "api-server")
	svc := object[*corev1.Service](t, res, "Service", "api-server")
	if d.Spec.Template.Spec.Containers[0].Name != "api-server" || svc.Spec.Selector[labelName] != "api-server" ||
		d.Spec.Template.Labels[labelName] != "api-server" {
		t.Errorf("names differ: %v %v", d.Spec.Template.Labels, svc.Spec.Selector)
	}
	web := object[*appsv1.Deployment](t, res, "Deployment", "web")
	if c := web.Spec.Template.Spec.InitContainers[0]; c.Name != "wait-api-server" {
		t.Errorf("wait %s", c.Name)
	}
	if len(warningsWith(res, "Api_Server", `"api-server"`)) != 1 || len(res.Warnings) != 1 {
		t.Errorf("want exactly one warning about the name, got %v", res.Warnings)
	}
}
