package kubetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// PodState is what the fake kubelet reports for a pod: the status a real kubelet would
// write once the pod's containers are running, done, or stuck.
type PodState struct {
	kind     stateKind
	reason   string
	message  string
	exitCode int32
}

type stateKind int

const (
	statePending stateKind = iota
	stateReady
	stateSucceeded
	stateFailed
	stateWaiting
)

// Pending leaves a pod as the API server created it, as if it were not scheduled.
func Pending() PodState { return PodState{kind: statePending} }

// Ready reports every container running and ready; the controllers then count the pod
// available.
func Ready() PodState { return PodState{kind: stateReady} }

// Succeeded reports every container exited 0: a Job counts the pod as completed.
func Succeeded() PodState { return PodState{kind: stateSucceeded} }

// Failed reports the pod's containers exited with exitCode (reason Error, and message as
// their termination message) and the pod phase Failed, with a Warning event.
func Failed(exitCode int32, message string) PodState {
	return PodState{kind: stateFailed, reason: "Error", message: message, exitCode: exitCode}
}

// Waiting reports the pod's containers not running for reason — ErrImagePull,
// ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError — with message, and
// records a Warning event with the same reason and message, as the kubelet does.
func Waiting(reason, message string) PodState {
	return PodState{kind: stateWaiting, reason: reason, message: message}
}

func (s PodState) String() string {
	switch s.kind {
	case stateReady:
		return "Ready"
	case stateSucceeded:
		return "Succeeded"
	case stateFailed:
		return fmt.Sprintf("Failed(%d)", s.exitCode)
	case stateWaiting:
		return "Waiting(" + s.reason + ")"
	}
	return "Pending"
}

// MarkPod binds the pod to the fake Node (if the scheduler's part is still to do) and
// writes the status of state, as the kubelet would.
func (c *Cluster) MarkPod(t testing.TB, namespace, name string, state PodState) {
	t.Helper()
	if err := c.kubelet.mark(t.Context(), namespace, name, state); err != nil {
		t.Fatalf("mark pod %s/%s %s: %v", namespace, name, state, err)
	}
}

// WaitForPods waits until the namespace has at least n pods matching selector (a label
// selector, "" for all) that are not being deleted, and returns them.
func (c *Cluster) WaitForPods(t testing.TB, namespace, selector string, n int) []corev1.Pod {
	t.Helper()
	ctx := t.Context()
	var pods []corev1.Pod
	err := poll(ctx, 60*time.Second, func() (bool, error) {
		list, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				pods = append(pods, p)
			}
		}
		return len(pods) >= n, nil
	})
	if err != nil {
		t.Fatalf("wait for %d pods %q in %s (have %d): %v\n%s", n, selector, namespace, len(pods), err, c.Logs())
	}
	return pods
}

// mark binds then writes the status, retrying on conflicts with the controllers'
// own writes (the Job controller adds its finalizer to new pods).
func (k *fakeKubelet) mark(ctx context.Context, namespace, name string, state PodState) error {
	if state.kind == statePending {
		return nil
	}
	pods := k.client.CoreV1().Pods(namespace)
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.node},
		}
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("bind to node %s: %w", k.node, err)
		}
	}
	ip := k.podIP(pod.UID)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		writeStatus(pod, state, ip, metav1.Now())
		_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if state.kind == stateSucceeded || state.kind == stateFailed {
		k.logs.closePod(namespace, name)
	}
	if state.kind == stateFailed || state.kind == stateWaiting {
		return k.recordWarning(ctx, pod, state)
	}
	return nil
}

// writeStatus sets pod.Status as a kubelet reports state. Fields the API server set
// (QOS class) are kept.
func writeStatus(pod *corev1.Pod, state PodState, ip string, now metav1.Time) {
	s := &pod.Status
	s.HostIP, s.HostIPs = "127.0.0.1", []corev1.HostIP{{IP: "127.0.0.1"}}
	s.PodIP, s.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	if s.StartTime == nil {
		s.StartTime = &now
	}
	s.InitContainerStatuses = nil
	for _, ctr := range pod.Spec.InitContainers {
		done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(pod, ctr, done, false))
	}
	running := state.kind == stateReady
	s.ContainerStatuses = nil
	for _, ctr := range pod.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(pod, ctr, containerState(state, now), running))
	}
	s.Phase, s.Reason, s.Message = podPhase(state), "", ""
	if state.kind == stateFailed {
		s.Message = state.message
	}
	readyReason := ""
	switch state.kind {
	case stateSucceeded, stateFailed:
		readyReason = "PodCompleted"
	case stateWaiting:
		readyReason = "ContainersNotReady"
	}
	s.Conditions = []corev1.PodCondition{
		condition(corev1.PodReadyToStartContainers, true, "", now),
		condition(corev1.PodInitialized, true, "", now),
		condition(corev1.PodReady, running, readyReason, now),
		condition(corev1.ContainersReady, running, readyReason, now),
		condition(corev1.PodScheduled, true, "", now),
	}
}

func podPhase(state PodState) corev1.PodPhase {
	switch state.kind {
	case stateSucceeded:
		return corev1.PodSucceeded
	case stateFailed:
		return corev1.PodFailed
	case stateWaiting:
		// A kubelet keeps a crash-looping or image-less pod Pending until a
		// container first started; Running once one had: Pending is the common case.
		return corev1.PodPending
	}
	return corev1.PodRunning
}

func containerState(state PodState, now metav1.Time) corev1.ContainerState {
	switch state.kind {
	case stateSucceeded:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}
	case stateFailed:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: state.exitCode, Reason: state.reason, Message: state.message, StartedAt: now, FinishedAt: now}}
	case stateWaiting:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: state.reason, Message: state.message}}
	}
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
}

func containerStatus(pod *corev1.Pod, ctr corev1.Container, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	started := state.Running != nil
	return corev1.ContainerStatus{
		Name:        ctr.Name,
		Image:       ctr.Image,
		ImageID:     ctr.Image,
		ContainerID: "containerd://" + string(pod.UID) + "-" + ctr.Name,
		State:       state,
		Ready:       ready,
		Started:     &started,
	}
}

func condition(typ corev1.PodConditionType, ok bool, reason string, now metav1.Time) corev1.PodCondition {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: now}
}

// recordWarning writes the event a kubelet would for a failed or stuck pod: berth reads
// the reason of a failure from status and events.
func (k *fakeKubelet) recordWarning(ctx context.Context, pod *corev1.Pod, state PodState) error {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Reason:         state.reason,
		Message:        state.message,
		Type:           corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "kubelet", Host: k.node},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	if _, err := k.client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("record event %s: %w", state.reason, err)
	}
	return nil
}
