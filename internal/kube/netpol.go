package kube

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// networkLabelPrefix marks a pod as a member of a Compose network; the
// network's real name (<project>_<key>, or its name:) makes the label,
// so that an external network joins the pods of every project on it.
const networkLabelPrefix = "net.berth.dev/"

func networkLabel(networkName string) string {
	return networkLabelPrefix + dnsLabel(networkName)
}

// networkPolicies enforce the project's networks as Compose does: a pod
// takes connections only from pods it shares a network with (and from
// anywhere on its published ports), and connects to those pods, to DNS on
// any address (node-local DNS caches are not pods), and to everything else
// unless all its networks are internal.
func (c *converter) networkPolicies() {
	used := map[string]attachment{}
	for _, sp := range c.plans {
		for _, a := range sp.networks {
			used[a.Key] = a
		}
	}
	for _, key := range slices.Sorted(maps.Keys(used)) {
		c.add(c.networkPolicy(used[key]))
	}
	for _, name := range c.p.ServiceNames() {
		sp := c.plans[name]
		if c.opts.PublishAs != PublishNone && len(sp.ports) > 0 && !sp.hostNet {
			c.add(c.publishedPolicy(sp))
		}
		if sp.s.NetworkMode == "none" {
			c.add(c.isolatedPolicy(sp))
		}
		if c.needsAPIAccess(sp) {
			c.add(c.apiAccessPolicy(sp))
		}
	}
}

func (c *converter) networkPolicy(a attachment) *networkingv1.NetworkPolicy {
	members := metav1.LabelSelector{MatchLabels: map[string]string{networkLabel(a.Name): "true"}}
	peers := []networkingv1.NetworkPolicyPeer{{PodSelector: &members}}
	egress := []networkingv1.NetworkPolicyEgressRule{{To: peers}, dnsEgress()}
	if !a.Internal {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: c.meta(dnsLabel(a.Name), c.objectLabels(a.Key)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: members,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: peers}},
			Egress:      egress,
		},
	}
}

func dnsEgress() networkingv1.NetworkPolicyEgressRule {
	port := intstr.FromInt32(53)
	return networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{
		{Protocol: ptr.To(corev1.ProtocolUDP), Port: &port},
		{Protocol: ptr.To(corev1.ProtocolTCP), Port: &port},
	}}
}

// publishedPolicy lets anyone reach the published ports' targets.
func (c *converter) publishedPolicy(sp *servicePlan) *networkingv1.NetworkPolicy {
	var ports []networkingv1.NetworkPolicyPort
	for _, p := range servicePorts(sp.ports, false) {
		ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: ptr.To(p.Protocol), Port: ptr.To(p.TargetPort)})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: c.meta(joinName(sp.name, "published"), c.objectLabels(sp.name)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: c.selector(sp)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: ports}},
		},
	}
}

// isolatedPolicy is network_mode: none: no traffic in or out.
func (c *converter) isolatedPolicy(sp *servicePlan) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: c.meta(joinName(sp.name, "isolated"), c.objectLabels(sp.name)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: c.selector(sp)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
}

// apiAccessPolicy lets a pod whose init container watches a Job reach the
// API server (443 through the kubernetes Service, 6443 on most control
// planes once the Service's address is translated), even on internal
// networks.
func (c *converter) apiAccessPolicy(sp *servicePlan) *networkingv1.NetworkPolicy {
	https, apiserver := intstr.FromInt32(443), intstr.FromInt32(6443)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: c.meta(joinName(sp.name, "job-wait"), c.objectLabels(sp.name)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: c.selector(sp)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{
				{Protocol: ptr.To(corev1.ProtocolTCP), Port: &https},
				{Protocol: ptr.To(corev1.ProtocolTCP), Port: &apiserver},
			}}},
		},
	}
}
