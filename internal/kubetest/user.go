package kubetest

import (
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// User is an identity with only the permissions of one Role in one namespace.
type User struct {
	// Kubeconfig is a kubeconfig file whose current context is this user in Namespace:
	// what a test passes to berth with --kubeconfig or KUBECONFIG.
	Kubeconfig string
	Namespace  string
	Config     *rest.Config
	Client     kubernetes.Interface
}

// UserForRole creates role in its namespace, a ServiceAccount bound to it and nothing
// else, and a token for that ServiceAccount (TokenRequest, valid for an hour). The
// e2e tests of `berth kube` run as such a user so that they prove the Role documented
// in docs/kubernetes.md is enough.
func (c *Cluster) UserForRole(t testing.TB, role *rbacv1.Role) *User {
	t.Helper()
	ctx := t.Context()
	ns := role.Namespace
	created, err := c.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create role %s/%s: %v", ns, role.Name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: created.Name + "-user", Namespace: ns}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account %s/%s: %v", ns, sa.Name, err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: created.Name + "-user", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: created.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}},
	}
	if _, err := c.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role binding %s/%s: %v", ns, binding.Name, err)
	}
	hour := int64(3600)
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, sa.Name, err)
	}
	token := tr.Status.Token
	u := &User{Namespace: ns, Config: c.restConfig(token)}
	u.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := c.writeKubeconfig(u.Kubeconfig, sa.Name, token, ns); err != nil {
		t.Fatal(err)
	}
	if u.Client, err = kubernetes.NewForConfig(u.Config); err != nil {
		t.Fatal(err)
	}
	return u
}
