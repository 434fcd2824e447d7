package main

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/kubeapply"
	"github.com/berth-dev/berth/internal/kubetest"
	"github.com/berth-dev/berth/project"
)

// kubeResources are the kinds berth emits, as the tests list them.
var kubeResources = map[string]schema.GroupVersionResource{
	"ServiceAccount":        {Version: "v1", Resource: "serviceaccounts"},
	"Role":                  {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"ConfigMap":             {Version: "v1", Resource: "configmaps"},
	"Secret":                {Version: "v1", Resource: "secrets"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"Service":               {Version: "v1", Resource: "services"},
	"NetworkPolicy":         {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	"StatefulSet":           {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
	"Job":                   {Group: "batch", Version: "v1", Resource: "jobs"},
}

// kubeEnv is one namespace of the shared control plane and a user bound
// only to the documented Role.
type kubeEnv struct {
	t       *testing.T
	cluster *kubetest.Cluster
	ns      string
	user    *kubetest.User
	dyn     dynamic.Interface
}

func newKubeEnv(t *testing.T, cluster *kubetest.Cluster) *kubeEnv {
	ns := cluster.CreateNamespace(t, "")
	user := cluster.UserForRole(t, kubeapply.MinimalRole(ns))
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &kubeEnv{t: t, cluster: cluster, ns: ns, user: user, dyn: dyn}
}

// berth runs berth against the file as the Role's user.
func (k *kubeEnv) berth(file string, args ...string) (int, string, string) {
	// kubectl's flag after the subcommand, before the services
	full := append([]string{"-f", file, "--progress", "plain"}, args[:2]...)
	full = append(append(full, "--kubeconfig", k.user.Kubeconfig), args[2:]...)
	return runBerth(full...)
}

func (k *kubeEnv) mustBerth(t *testing.T, file string, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := k.berth(file, args...)
	if code != 0 {
		t.Fatalf("berth %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
	}
	return stdout, stderr
}

// objects lists, as the admin, every object of berth's kinds in the
// namespace: "Kind name" → the object.
func (k *kubeEnv) objects() map[string]*unstructured.Unstructured {
	k.t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for kind, gvr := range kubeResources {
		list, err := k.dyn.Resource(gvr).Namespace(k.ns).List(k.t.Context(), metav1.ListOptions{})
		if err != nil {
			k.t.Fatal(err)
		}
		for i := range list.Items {
			out[kind+" "+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	return out
}

// members are the objects carrying berth's ApplySet label.
func (k *kubeEnv) members() []string {
	var out []string
	for key, o := range k.objects() {
		if _, ok := o.GetLabels()["applyset.kubernetes.io/part-of"]; ok && o.GetName() != "handmade" {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// converted are the objects berth converts the file into.
func (k *kubeEnv) converted(file string) []string {
	k.t.Helper()
	p, err := project.Load(k.t.Context(), project.LoadOptions{ConfigPaths: []string{file}, KeepEnvFiles: true})
	if err != nil {
		k.t.Fatal(err)
	}
	res, err := kube.Convert(p, kube.Options{Namespace: k.ns, IncludeSecrets: true})
	if err != nil {
		k.t.Fatal(err)
	}
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetName())
	}
	sort.Strings(out)
	return out
}

func startKube(t *testing.T) *kubetest.Cluster {
	isolateEnv(t)
	start := time.Now()
	c := kubetest.Start(t)
	t.Logf("control plane started in %s", time.Since(start).Round(time.Millisecond))
	return c
}

func TestE2EKubeExamples(t *testing.T) {
	cluster := startKube(t)
	for _, dir := range []string{"devenv", "integration-tests", "monolith-split/v1", "monolith-split/v2"} {
		t.Run(strings.ReplaceAll(dir, "/", "-"), func(t *testing.T) {
			k := newKubeEnv(t, cluster)
			cluster.RunPods(t, k.ns, nil)
			file, _ := filepath.Abs(filepath.Join("../../examples", dir, "compose.yaml"))
			before := k.objects()
			_, stderr := k.mustBerth(t, file, "kube", "up", "--wait", "--wait-timeout", "60")
			if got, want := k.members(), k.converted(file); !slices.Equal(got, want) {
				t.Errorf("members after up:\n%v\nconverted:\n%v", got, want)
			}
			for key := range k.objects() {
				// the controller manager publishes kube-root-ca.crt into every namespace,
				// possibly only after the snapshot
				if _, had := before[key]; !had && !slices.Contains(k.converted(file), key) && !strings.HasPrefix(key, "ConfigMap berth-applyset.") &&
					key != "ConfigMap kube-root-ca.crt" {
					t.Errorf("up made %s, which is not in the conversion", key)
				}
			}
			if !strings.Contains(stderr, "Available") {
				t.Errorf("no progress in up's output:\n%s", stderr)
			}
			code, stdout, stderr := k.berth(file, "kube", "diff")
			if code != 0 || stdout != "" {
				t.Errorf("diff after up: exit %d\n%s%s", code, stdout, stderr)
			}
			k.mustBerth(t, file, "kube", "down", "-v", "--timeout", "60")
			if m := k.members(); len(m) != 0 {
				t.Errorf("left after down -v: %v", m)
			}
			for key := range k.objects() {
				if strings.HasPrefix(key, "ConfigMap berth-applyset.") {
					t.Errorf("the ApplySet parent %s is left after down -v", key)
				}
			}
		})
	}
}

// kedit is a project whose edits the lifecycle test makes.
const keditFile = `name: kedit
services:
  web:
    image: busybox:1.37
    environment: {GREETING: "hello"}
    ports: ["8080:80"]
    depends_on: {migrate: {condition: service_completed_successfully}}
  api:
    image: busybox:1.37
    environment: {MODE: "one"}
    secrets: [token]
    depends_on: {migrate: {condition: service_completed_successfully}}
  migrate:
    image: busybox:1.37
    command: ["true"]
  db:
    image: busybox:1.37
    volumes: [data:/data]
volumes:
  data:
secrets:
  token:
    file: ./token.txt
`

const keditSecret = "s3cr3t-kedit-value"

func TestE2EKubeLifecycle(t *testing.T) {
	cluster := startKube(t)
	k := newKubeEnv(t, cluster)
	cluster.RunPods(t, k.ns, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	write := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(keditFile)
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(keditSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := k.mustBerth(t, file, "kube", "up", "--wait", "--wait-timeout", "60")
	requireNoKeditSecret(t, stdout+stderr)
	if got, want := k.members(), k.converted(file); !slices.Equal(got, want) {
		t.Fatalf("members after up:\n%v\nconverted:\n%v", got, want)
	}
	requireAfterJob(t, k, "api", "migrate")
	handmade := k.handmadeObjects()
	code, stdout, stderr := k.berth(file, "kube", "diff")
	if code != 0 || stdout != "" {
		t.Fatalf("diff after up: exit %d\n%s%s", code, stdout, stderr)
	}

	t.Run("edit-environment", func(t *testing.T) {
		before := k.objects()
		write(strings.Replace(keditFile, `"hello"`, `"bonjour"`, 1))
		code, stdout, _ := k.berth(file, "kube", "diff")
		if code != 1 || !strings.Contains(stdout, "# Deployment web: changed") || strings.Count(stdout, "\n# ") != 0 || !strings.Contains(stdout, "+          value: bonjour") {
			t.Errorf("diff after the edit: exit %d\n%s", code, stdout)
		}
		k.mustBerth(t, file, "kube", "up", "--wait", "--wait-timeout", "60")
		changed := changedObjects(before, k.objects())
		if !slices.Equal(changed, []string{"Deployment web"}) {
			t.Errorf("changed by the edit: %v, want only Deployment web", changed)
		}
	})

	t.Run("secret-diff-masked", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(keditSecret+"-2"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := k.berth(file, "kube", "diff")
		requireNoKeditSecret(t, stdout+stderr)
		if code != 1 || !strings.Contains(stdout, "*** (after)") {
			t.Errorf("diff of a changed secret: exit %d\n%s%s", code, stdout, stderr)
		}
		k.mustBerth(t, file, "kube", "up")
	})

	t.Run("conflict", func(t *testing.T) {
		patch := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"spec":{"replicas":3}}`)
		force := true
		_, err := cluster.Client.AppsV1().Deployments(k.ns).Patch(t.Context(), "api", "application/apply-patch+yaml", patch,
			metav1.PatchOptions{FieldManager: "someone-else", Force: &force})
		if err != nil {
			t.Fatal(err)
		}
		code, _, stderr := k.berth(file, "kube", "up")
		if code == 0 || !strings.Contains(stderr, `field manager "someone-else" owns .spec.replicas`) || !strings.Contains(stderr, "--force-conflicts") {
			t.Errorf("up over another manager's field: exit %d\n%s", code, stderr)
		}
		k.mustBerth(t, file, "kube", "up", "--force-conflicts")
	})

	t.Run("remove-service", func(t *testing.T) {
		before := k.objects()
		edited := strings.Replace(keditFile, "  web:\n    image: busybox:1.37\n    environment: {GREETING: \"hello\"}\n    ports: [\"8080:80\"]\n    depends_on: {migrate: {condition: service_completed_successfully}}\n", "", 1)
		write(edited)
		k.mustBerth(t, file, "kube", "up", "--wait", "--wait-timeout", "60")
		after := k.objects()
		var gone []string
		for key := range before {
			if _, ok := after[key]; !ok {
				gone = append(gone, key)
			}
		}
		sort.Strings(gone)
		want := []string{"Deployment web", "NetworkPolicy web-published", "Service web", "Service web-published"}
		if !slices.Equal(gone, want) {
			t.Errorf("pruned: %v, want %v", gone, want)
		}
		if got, want := k.members(), k.converted(file); !slices.Equal(got, want) {
			t.Errorf("members after the removal:\n%v\nconverted:\n%v", got, want)
		}
	})

	t.Run("ps-logs", func(t *testing.T) {
		stdout, _ := k.mustBerth(t, file, "kube", "ps")
		for _, want := range []string{"NAME", "SERVICE", "api", "db", "Up "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("kube ps lacks %q:\n%s", want, stdout)
			}
		}
		stdout, _ = k.mustBerth(t, file, "kube", "ps", "--format", "json")
		var row psRow
		if err := jsonUnmarshal(strings.SplitN(stdout, "\n", 2)[0], &row); err != nil || row.Project != "kedit" || row.State != "running" || row.Service != "api" || row.Publishers == nil {
			t.Errorf("kube ps --format json: %v\n%s", err, stdout)
		}
		pods := cluster.WaitForPods(t, k.ns, "app.kubernetes.io/name=api", 1)
		cluster.WriteLog(k.ns, pods[0].Name, "api", "api says hi")
		stdout, _ = k.mustBerth(t, file, "kube", "logs", "api")
		if !strings.Contains(stdout, "api-1  | api says hi") {
			t.Errorf("kube logs api:\n%s", stdout)
		}
	})

	t.Run("down", func(t *testing.T) {
		k.mustBerth(t, file, "kube", "down", "--timeout", "60")
		if m := k.members(); !slices.Equal(m, []string{"PersistentVolumeClaim kedit-data"}) {
			t.Errorf("left after down: %v, want only the claim", m)
		}
		k.mustBerth(t, file, "kube", "down", "-v", "--timeout", "60")
		if m := k.members(); len(m) != 0 {
			t.Errorf("left after down -v: %v", m)
		}
		k.requireHandmade(handmade)
	})
}

// handmadeObjects creates, as the admin, objects berth did not make that
// carry berth's labels — even the ApplySet's — in the namespace.
func (k *kubeEnv) handmadeObjects() map[string]string {
	t := k.t
	member := k.objects()["Deployment api"]
	labels := map[string]string{}
	for key, v := range member.GetLabels() {
		if strings.HasPrefix(key, "app.kubernetes.io/") || strings.HasPrefix(key, "applyset.") {
			labels[key] = v
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "handmade", Labels: labels}, Data: map[string]string{"k": "v"}}
	if _, err := k.cluster.Client.CoreV1().ConfigMaps(k.ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "handmade", Labels: labels},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"x": "y"}}}
	if _, err := k.cluster.Client.CoreV1().Services(k.ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, key := range []string{"ConfigMap handmade", "Service handmade"} {
		out[key] = k.objects()[key].GetResourceVersion()
	}
	return out
}

func (k *kubeEnv) requireHandmade(want map[string]string) {
	k.t.Helper()
	objs := k.objects()
	for key, rv := range want {
		o, ok := objs[key]
		if !ok {
			k.t.Errorf("%s, made by hand, was deleted", key)
		} else if o.GetResourceVersion() != rv {
			k.t.Errorf("%s, made by hand, was changed", key)
		}
	}
}

// changedObjects are the objects whose content changed (status and the
// controllers' bookkeeping aside), or that came or went.
func changedObjects(before, after map[string]*unstructured.Unstructured) []string {
	var out []string
	for key, a := range after {
		b, ok := before[key]
		if !ok || !equality.Semantic.DeepEqual(content(a), content(b)) {
			out = append(out, key)
		}
	}
	for key := range before {
		if _, ok := after[key]; !ok {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func requireNoKeditSecret(t *testing.T, text string) {
	t.Helper()
	if strings.Contains(text, keditSecret) {
		t.Error("berth printed the secret's value")
	}
}

func TestE2EKubeWaitFailure(t *testing.T) {
	cluster := startKube(t)
	k := newKubeEnv(t, cluster)
	cluster.RunPods(t, k.ns, func(pod *corev1.Pod) kubetest.PodState {
		if pod.Labels["app.kubernetes.io/name"] == "bad" {
			return kubetest.Failed(3, "cannot open /data/db: permission denied")
		}
		return kubetest.Ready()
	})
	file := filepath.Join(t.TempDir(), "compose.yaml")
	content := "name: kfail\nservices:\n  good: {image: busybox:1.37}\n  bad: {image: busybox:1.37}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := k.berth(file, "kube", "up", "--wait", "--wait-timeout", "60")
	if code != 1 || !strings.Contains(stderr, `service "bad"`) || !strings.Contains(stderr, "exited with code 3") ||
		!strings.Contains(stderr, "permission denied") {
		t.Errorf("up --wait with a failing pod: exit %d\n%s", code, stderr)
	}
	k.mustBerth(t, file, "kube", "down", "--timeout", "60")
}

// content is an object without its status and what changes with every
// write of anyone's.
func content(u *unstructured.Unstructured) map[string]any {
	o := u.DeepCopy().Object
	delete(o, "status")
	for _, f := range []string{"resourceVersion", "managedFields"} {
		unstructured.RemoveNestedField(o, "metadata", f)
	}
	return o
}

// requireAfterJob checks that the Deployment was created once the Job had
// completed.
func requireAfterJob(t *testing.T, k *kubeEnv, deployment, job string) {
	t.Helper()
	d, err := k.cluster.Client.AppsV1().Deployments(k.ns).Get(t.Context(), deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := k.cluster.Client.BatchV1().Jobs(k.ns).Get(t.Context(), job, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.CompletionTime == nil || d.CreationTimestamp.Before(j.Status.CompletionTime) {
		t.Errorf("Deployment %s created at %s, Job %s completed at %v", deployment, d.CreationTimestamp, job, j.Status.CompletionTime)
	}
}

func TestE2EKubeWaitProgress(t *testing.T) {
	cluster := startKube(t)
	k := newKubeEnv(t, cluster)
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("name: kslow\nservices:\n  slow: {image: busybox:1.37}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := k.berth(file, "kube", "up", "--wait", "--wait-timeout", "60")
		done <- result{code, stderr}
	}()
	pods := cluster.WaitForPods(t, k.ns, "app.kubernetes.io/name=slow", 1)
	time.Sleep(time.Second)
	select {
	case r := <-done:
		t.Fatalf("up --wait returned before the pod was ready: exit %d\n%s", r.code, r.stderr)
	default:
	}
	cluster.MarkPod(t, k.ns, pods[0].Name, kubetest.Ready())
	r := <-done
	if r.code != 0 || !strings.Contains(r.stderr, "Deployment slow Waiting 0/1 available") || !strings.Contains(r.stderr, "Deployment slow Available") {
		t.Errorf("up --wait: exit %d\n%s", r.code, r.stderr)
	}
	k.mustBerth(t, file, "kube", "down", "--timeout", "60")
}
