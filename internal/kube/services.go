package kube

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Port range a NodePort Service may ask for by default.
const (
	minNodePort = 30000
	maxNodePort = 32767
)

// namedService makes the service's name resolve in the cluster as it does
// on a Compose network: headless by default (DNS answers with the ready
// pods' addresses, and every port of theirs is reachable), or a ClusterIP
// Service with the ports of ports and expose.
func (c *converter) namedService(sp *servicePlan) *corev1.Service {
	return c.dnsService(sp, sp.name)
}

func (c *converter) dnsService(sp *servicePlan, name string) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: c.meta(name, c.objectLabels(sp.name)),
		Spec: corev1.ServiceSpec{
			Selector:  c.selector(sp),
			ClusterIP: corev1.ClusterIPNone,
			Ports:     servicePorts(append(slices.Clone(sp.ports), sp.exposed...), false),
		},
	}
	if c.opts.ServiceType == ServiceClusterIP && len(svc.Spec.Ports) > 0 {
		svc.Spec.ClusterIP = ""
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	return svc
}

// servicePorts lists ports once per port and protocol, named
// <protocol>-<port> (names are required as soon as there are two). With
// published, a port listens on the published number, else on the target.
func servicePorts(ports []portMapping, published bool) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, pm := range ports {
		proto, ok := protocol(pm.Protocol)
		if !ok {
			continue
		}
		port := int32(pm.Target)
		if published && pm.Published != 0 {
			port = int32(pm.Published)
		}
		if slices.ContainsFunc(out, func(sp corev1.ServicePort) bool { return sp.Port == port && sp.Protocol == proto }) {
			continue
		}
		out = append(out, corev1.ServicePort{
			Name:       fmt.Sprintf("%s-%d", strings.ToLower(string(proto)), port),
			Protocol:   proto,
			Port:       port,
			TargetPort: intstr.FromInt32(int32(pm.Target)),
		})
	}
	slices.SortFunc(out, func(a, b corev1.ServicePort) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

// publishedService is the outside's way in to a service's ports: a
// LoadBalancer (or NodePort) Service on the published ports. It listens on
// every address: a host IP is dropped.
func (c *converter) publishedService(sp *servicePlan) *corev1.Service {
	if c.opts.PublishAs == PublishNone || len(sp.ports) == 0 {
		return nil
	}
	name := joinName(sp.name, "published")
	if owner, taken := c.names.taken[name]; taken {
		c.warn(sp.s.Name, "ports", "the Service %q would take the name of %q: no published Service", name, owner)
		return nil
	}
	c.names.taken[name] = sp.s.Name
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: c.meta(name, c.objectLabels(sp.name)),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: c.selector(sp),
			Ports:    servicePorts(sp.ports, true),
		},
	}
	for _, pm := range sp.ports {
		if pm.HostIP != "" && !isUnspecified(pm.HostIP) {
			c.warn(sp.s.Name, "ports", "the host IP %s of port %d is dropped: the Service listens on every address of its load balancer or nodes",
				pm.HostIP, pm.Target)
		}
	}
	if c.opts.PublishAs == PublishNodePort {
		svc.Spec.Type = corev1.ServiceTypeNodePort
		c.nodePorts(sp, svc)
	}
	return svc
}

func isUnspecified(ip string) bool {
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	return err == nil && addr.IsUnspecified()
}

// nodePorts keeps a published port as the node port when it is in the
// node port range; the cluster picks the others.
func (c *converter) nodePorts(sp *servicePlan, svc *corev1.Service) {
	for _, pm := range sp.ports {
		if pm.Published == 0 {
			continue
		}
		if pm.Published < minNodePort || pm.Published > maxNodePort {
			c.warn(sp.s.Name, "ports", "published port %d is outside the node port range (%d-%d): the cluster picks the node port",
				pm.Published, minNodePort, maxNodePort)
			continue
		}
		proto, _ := protocol(pm.Protocol)
		for i := range svc.Spec.Ports {
			if p := &svc.Spec.Ports[i]; p.Port == int32(pm.Published) && p.Protocol == proto {
				p.NodePort = p.Port
			}
		}
	}
}

// aliasServices make the other names of a service resolve: its
// container_name, hostname, network aliases and link aliases each get a
// Service on the same selector. A name another service already has is
// left out, as it would be ambiguous.
func (c *converter) aliasServices() {
	links := linkAliases(c.p)
	for _, name := range c.p.ServiceNames() {
		sp := c.plans[name]
		for _, alias := range append(slices.Clone(sp.aliases), links[name]...) {
			k := dnsLabel(alias)
			if k == sp.name {
				continue
			}
			if owner, taken := c.names.taken[k]; taken {
				if owner != name {
					c.warn(name, "aliases", "%q resolves to %q already in Kubernetes: left out", alias, owner)
				}
				continue
			}
			c.names.taken[k] = name
			if k != alias {
				c.warn(name, "aliases", "%q is not a valid Kubernetes name: it is %q; update what refers to it by name", alias, k)
			}
			c.add(c.dnsService(sp, k))
		}
	}
}
