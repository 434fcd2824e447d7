package kubeapply

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Pod states, as `berth ps` names a container's.
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
)

// Pod is one pod of a workload of the set, as `berth kube ps` shows it.
type Pod struct {
	Service   string
	Number    int // 1-based, by creation time within the service
	Name      string
	UID       string
	Image     string
	Command   string
	Container string
	Created   time.Time
	StartedAt time.Time
	ExitedAt  time.Time
	State     string
	ExitCode  int
	// Health is "healthy" or "starting" for a container with a readiness
	// probe, "" otherwise.
	Health string
	// Reason says why a pod that does not run waits (ErrImagePull,
	// Unschedulable, …).
	Reason string
	Ports  []Port
}

// Port is a port the project publishes, from its <service>-published
// Service: the address is the load balancer's, or every node's for a
// NodePort.
type Port struct {
	URL       string
	Target    int
	Published int
	Protocol  string
}

// Pods lists the pods of the set's workloads, by service then number.
func (c *Client) Pods(ctx context.Context, project string) ([]Pod, error) {
	set, err := c.loadApplySet(ctx, project)
	if err != nil || !set.exists {
		return nil, err
	}
	ms, err := c.members(ctx, set, set.current)
	if err != nil {
		return nil, err
	}
	ports := publishedPorts(ms)
	var out []Pod
	for _, m := range ms {
		selector, ok := workloadSelector(m)
		if !ok {
			continue
		}
		pods, err := c.core.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("list the pods of %s: %w", m.key(), err)
		}
		items := pods.Items
		slices.SortFunc(items, func(a, b corev1.Pod) int {
			return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
		})
		service := m.obj.GetLabels()[labelName]
		for i := range items {
			p := podOf(&items[i])
			p.Service, p.Number, p.Ports = service, i+1, ports[service]
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Pod) int { return cmp.Compare(a.Service, b.Service) })
	return out, nil
}

// workloadSelector is the label selector of a workload member's pods.
func workloadSelector(m member) (string, bool) {
	switch m.kind.gvk.Kind {
	case "Deployment", "StatefulSet", "Job":
	default:
		return "", false
	}
	ml, _, _ := unstructured.NestedStringMap(m.obj.Object, "spec", "selector", "matchLabels")
	if len(ml) == 0 {
		return "", false
	}
	sel := &metav1.LabelSelector{MatchLabels: ml}
	return metav1.FormatLabelSelector(sel), true
}

func podOf(pod *corev1.Pod) Pod {
	p := Pod{Name: pod.Name, UID: string(pod.UID), Created: pod.CreationTimestamp.Time, State: StateCreated}
	if len(pod.Spec.Containers) == 0 {
		return p
	}
	ctr := pod.Spec.Containers[0]
	p.Container, p.Image = ctr.Name, ctr.Image
	p.Command = strings.Join(slices.Concat(ctr.Command, ctr.Args), " ")
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != ctr.Name {
			continue
		}
		switch {
		case cs.State.Running != nil:
			p.State, p.StartedAt = StateRunning, cs.State.Running.StartedAt.Time
			if ctr.ReadinessProbe != nil {
				p.Health = "starting"
				if cs.Ready {
					p.Health = "healthy"
				}
			}
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			p.State, p.ExitCode, p.StartedAt, p.ExitedAt = StateExited, int(t.ExitCode), t.StartedAt.Time, t.FinishedAt.Time
		case cs.State.Waiting != nil:
			p.Reason = cs.State.Waiting.Reason
		}
	}
	if p.State == StateCreated && p.Reason == "" {
		if msg, _ := podProblem(pod); msg != "" {
			p.Reason, _, _ = strings.Cut(msg, ":")
		}
	}
	return p
}

// publishedPorts reads the <service>-published Services of the set.
func publishedPorts(ms []member) map[string][]Port {
	out := map[string][]Port{}
	for _, m := range ms {
		if m.kind.gvk.Kind != "Service" {
			continue
		}
		var svc corev1.Service
		if err := fromUnstructured(m.obj, &svc); err != nil {
			continue
		}
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		service := svc.Spec.Selector[labelName]
		for _, sp := range svc.Spec.Ports {
			out[service] = append(out[service], servicePort(&svc, sp))
		}
	}
	return out
}

func servicePort(svc *corev1.Service, sp corev1.ServicePort) Port {
	p := Port{Target: sp.TargetPort.IntValue(), Protocol: strings.ToLower(string(sp.Protocol))}
	if p.Target == 0 {
		p.Target = int(sp.Port)
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort {
		p.URL, p.Published = "0.0.0.0", int(sp.NodePort)
		return p
	}
	p.URL, p.Published = "<pending>", int(sp.Port)
	for _, in := range svc.Status.LoadBalancer.Ingress {
		p.URL = cmp.Or(in.IP, in.Hostname)
		break
	}
	return p
}
