package kubeapply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/progress"
)

// readiness is what one poll found of a workload.
type readiness struct {
	ready    bool
	status   string // progress status when ready: Available, Completed
	text     string // e.g. "1/2 available"
	failure  string // set when it cannot become ready: the reason
	selector *metav1.LabelSelector
	isJob    bool
}

// wait polls the workloads until each is ready, with a progress line each;
// it fails at the first one that cannot become ready, naming its service
// and the reason read from its status, its pods' and the events.
func (c *Client) wait(ctx context.Context, ws []desired, timeout time.Duration) error {
	if len(ws) == 0 {
		return nil
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	hints := map[objectKey]string{}
	for {
		var left []desired
		for _, w := range ws {
			r, err := c.readiness(ctx, w)
			if err != nil {
				if ctx.Err() != nil {
					left = append(left, w) // the sleep below reports why
					continue
				}
				return fmt.Errorf("wait for %s: %w", w.key(), err)
			}
			id := w.key().String()
			if r.ready {
				c.sink.Event(progress.Event{ID: id, Status: r.status, Text: r.text, Done: true})
				continue
			}
			if r.failure == "" {
				r.failure, hints[w.key()] = c.podProblems(ctx, w, r)
			}
			if r.failure != "" {
				c.sink.Event(progress.Event{ID: id, Status: "Error", Text: r.failure, Done: true, Err: true})
				return fmt.Errorf("service %q (%s) failed: %s", w.service(), w.key(), r.failure)
			}
			c.sink.Event(progress.Event{ID: id, Status: "Waiting", Text: r.text})
			left = append(left, w)
		}
		ws = left
		if len(ws) == 0 {
			return nil
		}
		if err := sleep(ctx, pollInterval); err != nil {
			if !errors.Is(err, errTimeout) {
				return err
			}
			w := ws[0]
			msg := fmt.Sprintf("service %q (%s) not ready after %s", w.service(), w.key(), timeout)
			if h := hints[w.key()]; h != "" {
				msg += ": " + h
			}
			c.sink.Event(progress.Event{ID: w.key().String(), Status: "Error", Text: "timed out", Done: true, Err: true})
			return errors.New(msg)
		}
	}
}

func (c *Client) readiness(ctx context.Context, w desired) (readiness, error) {
	name := w.obj.GetName()
	switch w.kind.gvk.Kind {
	case "Deployment":
		d, err := c.core.AppsV1().Deployments(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return readiness{}, err
		}
		return deploymentReadiness(d), nil
	case "StatefulSet":
		s, err := c.core.AppsV1().StatefulSets(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return readiness{}, err
		}
		return statefulSetReadiness(s), nil
	case "Job":
		j, err := c.core.BatchV1().Jobs(c.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return readiness{}, err
		}
		return jobReadiness(j), nil
	}
	return readiness{ready: true}, nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func deploymentReadiness(d *appsv1.Deployment) readiness {
	want, st := replicas(d.Spec.Replicas), d.Status
	r := readiness{status: "Available", selector: d.Spec.Selector,
		text: fmt.Sprintf("%d/%d available", st.AvailableReplicas, want)}
	r.ready = st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want &&
		st.AvailableReplicas >= want && st.Replicas == want
	for _, cond := range st.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
			r.failure = cond.Reason + ": " + cond.Message
		}
	}
	return r
}

func statefulSetReadiness(s *appsv1.StatefulSet) readiness {
	want, st := replicas(s.Spec.Replicas), s.Status
	return readiness{status: "Available", selector: s.Spec.Selector,
		text:  fmt.Sprintf("%d/%d ready", st.ReadyReplicas, want),
		ready: st.ObservedGeneration >= s.Generation && st.UpdatedReplicas == want && st.ReadyReplicas >= want && st.Replicas == want}
}

func jobReadiness(j *batchv1.Job) readiness {
	want := replicas(j.Spec.Completions)
	r := readiness{status: "Completed", selector: j.Spec.Selector, isJob: true,
		text: fmt.Sprintf("%d/%d succeeded", j.Status.Succeeded, want)}
	for _, cond := range j.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch cond.Type {
		case batchv1.JobComplete:
			r.ready = true
		case batchv1.JobFailed:
			r.failure = "the Job failed: " + cond.Reason
			if cond.Message != "" {
				r.failure += ": " + cond.Message
			}
		}
	}
	return r
}

// fatalWaiting are the reasons a container waits that do not clear by
// themselves: up --wait stops at the first.
var fatalWaiting = []string{"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}

// podProblems reads why the workload's pods are not ready: a failure that
// ends the wait, or a hint that the timeout's message carries (an
// unschedulable pod, a Warning event such as a pod the ReplicaSet could not
// create).
func (c *Client) podProblems(ctx context.Context, w desired, r readiness) (failure, hint string) {
	if r.selector == nil {
		return "", ""
	}
	sel, err := metav1.LabelSelectorAsSelector(r.selector)
	if err != nil {
		return "", ""
	}
	pods, err := c.core.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", ""
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil {
			continue
		}
		msg, fatal := podProblem(pod)
		if msg == "" {
			continue
		}
		msg = fmt.Sprintf("pod %s: %s", pod.Name, msg)
		if fatal && !(r.isJob && pod.Status.Phase == corev1.PodFailed) {
			return msg, ""
		}
		if r.isJob {
			// the Job's own Failed condition ends the wait; keep why
			hint = msg
			continue
		}
		return "", msg
	}
	if hint == "" {
		hint = c.warningEvent(ctx, w, pods.Items)
	}
	return "", hint
}

// podProblem is what a pod's status says is wrong, and whether it is final.
func podProblem(pod *corev1.Pod) (string, bool) {
	statuses := slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses)
	for _, cs := range statuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 && pod.Status.Phase == corev1.PodFailed {
			msg := fmt.Sprintf("container %q exited with code %d (%s)", cs.Name, t.ExitCode, t.Reason)
			if t.Message != "" {
				msg += ": " + strings.TrimSpace(t.Message)
			}
			return msg, true
		}
		if wt := cs.State.Waiting; wt != nil && slices.Contains(fatalWaiting, wt.Reason) {
			msg := fmt.Sprintf("container %q: %s", cs.Name, wt.Reason)
			if wt.Message != "" {
				msg += ": " + wt.Message
			}
			return msg, true
		}
	}
	if pod.Status.Phase == corev1.PodFailed {
		return strings.TrimSpace("failed: " + pod.Status.Reason + " " + pod.Status.Message), true
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			return "Unschedulable: " + cond.Message, false
		}
	}
	return "", false
}

// warningEvent is the latest Warning event about the workload, its pods or
// its ReplicaSets (a pod the API refused shows only there).
func (c *Client) warningEvent(ctx context.Context, w desired, pods []corev1.Pod) string {
	events, err := c.core.CoreV1().Events(c.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return ""
	}
	name := w.obj.GetName()
	about := func(ref corev1.ObjectReference) bool {
		switch ref.Kind {
		case w.kind.gvk.Kind:
			return ref.Name == name
		case "ReplicaSet":
			return strings.HasPrefix(ref.Name, name+"-")
		case "Pod":
			return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == ref.Name })
		}
		return false
	}
	var latest *corev1.Event
	for i := range events.Items {
		e := &events.Items[i]
		if about(e.InvolvedObject) && (latest == nil || eventTime(e).After(eventTime(latest))) {
			latest = e
		}
	}
	if latest == nil {
		return ""
	}
	return fmt.Sprintf("%s %s: %s: %s", latest.InvolvedObject.Kind, latest.InvolvedObject.Name, latest.Reason, latest.Message)
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}
