package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/internal/kubetest"
)

// TestServerDryRun sends every object berth writes for the corpus, the
// examples and its own test stacks to a real kube-apiserver v1.37 as a
// dry-run create (everything but the write to etcd: admission, defaults,
// validation). tools/kubevalidate checks the same in-process for every
// option set; this proves the in-process check answers as the server does.
func TestServerDryRun(t *testing.T) {
	cluster := kubetest.Start(t)
	ns := cluster.CreateNamespace(t, "")
	dirs := corpusDirs(t)
	for _, d := range []string{"testdata/everything"} {
		abs, _ := filepath.Abs(d)
		dirs = append(dirs, abs)
	}
	objects := 0
	for _, dir := range dirs {
		p := loadDirIn(t, dir)
		variants := []Options{{Namespace: ns, BindMounts: BindSkip}}
		if filepath.Base(dir) == "heldout" || filepath.Base(dir) == "everything" {
			variants = append(variants, Options{Namespace: ns, ServiceType: ServiceClusterIP, PublishAs: PublishNodePort,
				JobWait: JobWaitRBAC, IncludeSecrets: true, BindMounts: BindConfigMap})
		}
		for _, opts := range variants {
			res := mustConvert(t, p, opts)
			all := res.Objects
			for _, g := range res.Generators {
				all = append(all, generatedSecret(t, g, ns))
			}
			for _, o := range all {
				objects++
				if err := dryRunCreate(t.Context(), cluster.Client, ns, o); err != nil {
					t.Errorf("%s: %s %s: %v", filepath.Base(dir), kindOf(o), o.GetName(), err)
				}
			}
		}
	}
	t.Logf("the API server accepted %d objects of %d projects", objects, len(dirs))
}

// corpusDirs are the directories of the corpus, the examples and the
// held-out stack.
func corpusDirs(t *testing.T) []string {
	t.Helper()
	const root = "../../project/testdata/awesome-compose"
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	for _, d := range goldenCases {
		dirs = append(dirs, d)
	}
	for i, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		dirs[i] = abs
	}
	return dirs
}

// generatedSecret is the Secret kustomize makes of a secretGenerator.
func generatedSecret(t *testing.T, g SecretGenerator, ns string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: ns, Labels: g.Labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	for _, f := range g.Files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		s.Data[f.Key] = b
	}
	return s
}

func dryRunCreate(ctx context.Context, c kubernetes.Interface, ns string, o Object) error {
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}
	var err error
	switch obj := o.(type) {
	case *appsv1.Deployment:
		_, err = c.AppsV1().Deployments(ns).Create(ctx, obj, opts)
	case *appsv1.StatefulSet:
		_, err = c.AppsV1().StatefulSets(ns).Create(ctx, obj, opts)
	case *batchv1.Job:
		_, err = c.BatchV1().Jobs(ns).Create(ctx, obj, opts)
	case *corev1.Service:
		_, err = c.CoreV1().Services(ns).Create(ctx, obj, opts)
	case *corev1.ConfigMap:
		_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, obj, opts)
	case *corev1.Secret:
		_, err = c.CoreV1().Secrets(ns).Create(ctx, obj, opts)
	case *corev1.PersistentVolumeClaim:
		_, err = c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, obj, opts)
	case *corev1.ServiceAccount:
		_, err = c.CoreV1().ServiceAccounts(ns).Create(ctx, obj, opts)
	case *networkingv1.NetworkPolicy:
		_, err = c.NetworkingV1().NetworkPolicies(ns).Create(ctx, obj, opts)
	case *rbacv1.Role:
		_, err = c.RbacV1().Roles(ns).Create(ctx, obj, opts)
	case *rbacv1.RoleBinding:
		_, err = c.RbacV1().RoleBindings(ns).Create(ctx, obj, opts)
	default:
		err = fmt.Errorf("no client for %T", o)
	}
	return err
}
