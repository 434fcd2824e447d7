package kubeapply

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestApplySetID checks KEP-3659's ID against a value computed outside Go
// (python: sha256, urlsafe base64 without padding).
func TestApplySetID(t *testing.T) {
	got := applySetID(parentName("shop"), "shop", "ConfigMap", "")
	if want := "applyset-bW9d-dGJDQNpwfFKSlgNXCX1lirXhx3NO-lfC9ssog8-v1"; got != want {
		t.Errorf("id %s, want %s", got, want)
	}
	if parentName("my_app") != "berth-applyset.my-app" {
		t.Errorf("parent name of my_app: %s", parentName("my_app"))
	}
}

func TestMaskSecret(t *testing.T) {
	before := map[string]any{"data": map[string]any{"same": "c2FtZQ==", "changed": "b2xk", "gone": "eA=="}}
	after := map[string]any{"data": map[string]any{"same": "c2FtZQ==", "changed": "bmV3", "new": "eQ=="}}
	maskSecret(before, after)
	ya, _ := toYAML(before)
	yb, _ := toYAML(after)
	for _, s := range []string{"c2FtZQ", "b2xk", "bmV3", "eA==", "eQ=="} {
		if strings.Contains(ya+yb, s) {
			t.Errorf("value %s not masked:\n%s\n%s", s, ya, yb)
		}
	}
	if !strings.Contains(ya, "changed: '*** (before)'") || !strings.Contains(yb, "changed: '*** (after)'") || !strings.Contains(yb, "same: '***'") {
		t.Errorf("masks:\n%s\n%s", ya, yb)
	}
}

func TestPodProblem(t *testing.T) {
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}}}}}
	}
	for _, tc := range []struct {
		pod   *corev1.Pod
		want  string
		fatal bool
	}{
		{waiting("ErrImagePull"), `container "web": ErrImagePull: m`, true},
		{waiting("CrashLoopBackOff"), `container "web": CrashLoopBackOff: m`, true},
		{waiting("ContainerCreating"), "", false},
		{&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error", Message: "boom\n"}}}}}},
			`container "web" exited with code 2 (Error): boom`, true},
		{&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes"}}}},
			"Unschedulable: 0/1 nodes", false},
	} {
		got, fatal := podProblem(tc.pod)
		if got != tc.want || fatal != tc.fatal {
			t.Errorf("podProblem = %q, %v; want %q, %v", got, fatal, tc.want, tc.fatal)
		}
	}
}

func TestAppliedByBerth(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"managedFields": []any{
		map[string]any{"manager": "kubectl-create", "operation": "Update"}}}}}
	if appliedByBerth(u) {
		t.Error("an object created by kubectl counts as berth's")
	}
	u.Object["metadata"].(map[string]any)["managedFields"] = []any{map[string]any{"manager": "berth", "operation": "Apply"}}
	if !appliedByBerth(u) {
		t.Error("an object berth applied does not count as berth's")
	}
}
