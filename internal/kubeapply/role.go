package kubeapply

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MinimalRole is the least a user needs in a namespace for every `berth kube`
// command (docs/kubernetes.md prints it): the kinds berth emits, to apply
// (patch; create for new objects), list (the set's members, diff) and
// delete (prune, down); pods, their logs and events, read-only, for the
// waits, ps and logs. Nothing cluster-scoped: --create-namespace needs more.
// watch on Jobs lets berth create the Role of --job-wait=rbac, which grants
// it (RBAC lets a user grant only what it holds).
func MinimalRole(namespace string) *rbacv1.Role {
	manage := []string{"get", "list", "watch", "create", "patch", "delete"}
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: "berth", Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims"}, Verbs: manage},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: manage},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: manage},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: manage},
			{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: manage},
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "events"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
}
