package kubetest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestCluster checks that the kit gives what the kube tests rely on: the controllers
// turn a Deployment into a ReplicaSet and a Pod, a marked pod is Ready and makes the
// Deployment available, logs come back through the API server, Jobs complete, foreground
// deletion and claim deletion finish, and a Role's user gets exactly that Role.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := Start(t)
	t.Logf("control plane ready in %s", time.Since(start).Round(time.Millisecond))
	t.Run("deployment", func(t *testing.T) { testDeployment(t, c) })
	t.Run("job", func(t *testing.T) { testJob(t, c) })
	t.Run("waiting", func(t *testing.T) { testWaiting(t, c) })
	t.Run("claim", func(t *testing.T) { testClaim(t, c) })
	t.Run("role", func(t *testing.T) { testRole(t, c) })
}

func testDeployment(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ns := c.CreateNamespace(t, "")
	deploys := c.Client.AppsV1().Deployments(ns)
	if _, err := deploys.Create(ctx, deployment("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := c.WaitForPods(t, ns, "app=web", 1)[0]
	owner := metav1.GetControllerOf(&pod)
	if owner == nil || owner.Kind != "ReplicaSet" {
		t.Fatalf("pod %s owner = %+v, want a ReplicaSet", pod.Name, owner)
	}
	c.MarkPod(t, ns, pod.Name, Ready())
	got, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !podReady(got) || got.Spec.NodeName != c.NodeName || got.Status.PodIP == "" {
		t.Fatalf("marked pod: ready %v, node %q, ip %q", podReady(got), got.Spec.NodeName, got.Status.PodIP)
	}
	waitFor(t, "deployment web available", func() (bool, error) {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, err
	})

	c.WriteLog(ns, pod.Name, "main", "hello", "world")
	logs := podLogs(t, c.Client, ns, pod.Name, &corev1.PodLogOptions{TailLines: ptr(int64(1))})
	if logs != "world\n" {
		t.Errorf("logs --tail 1 = %q, want %q", logs, "world\n")
	}

	// The pod is bound to the fake node: only the fake kubelet's confirmation lets
	// it, then the ReplicaSet, then the Deployment go.
	fg := metav1.DeletePropagationForeground
	if err := deploys.Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "foreground deletion of deployment web", func() (bool, error) {
		_, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), ignoreNotFound(err)
	})
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Fatalf("pods left after foreground deletion: %d (%v)", len(pods.Items), err)
	}
}

func testJob(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ns := c.CreateNamespace(t, "")
	c.RunPods(t, ns, nil)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
		}}},
	}
	if _, err := c.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "job migrate complete", func() (bool, error) {
		j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "migrate", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

func testWaiting(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ns := c.CreateNamespace(t, "")
	c.RunPods(t, ns, func(*corev1.Pod) PodState {
		return Waiting("ErrImagePull", `failed to pull image "busybox": not found`)
	})
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, deployment("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := c.WaitForPods(t, ns, "app=web", 1)[0]
	waitFor(t, "warning event ErrImagePull", func() (bool, error) {
		evs, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + pod.Name + ",reason=ErrImagePull"})
		return err == nil && len(evs.Items) == 1, err
	})
	got, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if podReady(got) || got.Status.ContainerStatuses[0].State.Waiting == nil {
		t.Fatalf("pod status %+v, want not ready and waiting", got.Status)
	}
}

func testClaim(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ns := c.CreateNamespace(t, "")
	claims := c.Client.CoreV1().PersistentVolumeClaims(ns)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	created, err := claims.Create(ctx, pvc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Finalizers) == 0 {
		t.Fatalf("claim has no protection finalizer; the deletion below would prove nothing")
	}
	if err := claims.Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "claim data deleted", func() (bool, error) {
		_, err := claims.Get(ctx, "data", metav1.GetOptions{})
		return apierrors.IsNotFound(err), ignoreNotFound(err)
	})
}

func testRole(t *testing.T, c *Cluster) {
	ctx := t.Context()
	ns := c.CreateNamespace(t, "")
	other := c.CreateNamespace(t, "")
	u := c.UserForRole(t, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "configmap-reader", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	})
	if _, err := u.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list configmaps in %s as the role's user: %v", ns, err)
	}
	if _, err := u.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets in %s: err = %v, want forbidden", ns, err)
	}
	if _, err := u.Client.CoreV1().ConfigMaps(other).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list configmaps in %s: err = %v, want forbidden", other, err)
	}
	// The kubeconfig file is what berth gets: same user, namespace preset.
	cfg, err := clientcmd.LoadFromFile(u.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Contexts[cfg.CurrentContext].Namespace; got != ns {
		t.Errorf("kubeconfig namespace = %q, want %q", got, ns)
	}
	rest, err := clientcmd.BuildConfigFromFlags("", u.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(rest)
	if _, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list configmaps through the kubeconfig file: %v", err)
	}
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
			},
		},
	}
}

func podReady(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podLogs(t *testing.T, client kubernetes.Interface, ns, pod string, opts *corev1.PodLogOptions) string {
	t.Helper()
	stream, err := client.CoreV1().Pods(ns).GetLogs(pod, opts).Stream(t.Context())
	if err != nil {
		t.Fatalf("logs of %s: %v", pod, err)
	}
	defer stream.Close()
	data, err := io.ReadAll(stream)
	if err != nil {
		t.Fatalf("logs of %s: %v", pod, err)
	}
	return string(data)
}

func waitFor(t *testing.T, what string, ready func() (bool, error)) {
	t.Helper()
	if err := poll(t.Context(), 60*time.Second, ready); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestFollowLogs checks the fake kubelet's follow stream: lines written later reach a
// follower, and the stream ends when the pod's containers are marked finished.
func TestFollowLogs(t *testing.T) {
	c := Start(t)
	ns := c.CreateNamespace(t, "")
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), deployment("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := c.WaitForPods(t, ns, "app=web", 1)[0]
	c.MarkPod(t, ns, pod.Name, Ready())
	c.WriteLog(ns, pod.Name, "main", "one")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stream, err := c.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	marked := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		c.WriteLog(ns, pod.Name, "main", "two")
		marked <- c.kubelet.mark(ctx, ns, pod.Name, Failed(1, "boom"))
	}()
	data, err := io.ReadAll(stream)
	if err := <-marked; err != nil {
		t.Fatalf("mark failed: %v", err)
	}
	if err != nil {
		t.Fatalf("follow: %v (read %q)", err, data)
	}
	if got := strings.TrimSpace(string(data)); got != "one\ntwo" {
		t.Errorf("followed logs = %q, want one, two", got)
	}
}
