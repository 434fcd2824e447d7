package kube

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// serviceAccountDir is where a client in a pod finds its credentials.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// waits makes the pod wait for its dependencies, as up does: for a
// running or healthy dependency, an init container that waits until the
// dependency's headless Service resolves (it lists ready pods only: ready
// is healthy when the dependency has a health check); for a one-shot
// dependency (a Job), see jobWaits.
func (c *converter) waits(sp *servicePlan, spec *corev1.PodSpec) {
	var jobs []string
	for _, d := range sp.deps {
		dep := c.plans[d.Service]
		key := "depends_on." + d.Service
		if d.Restart {
			c.warn(sp.s.Name, key+".restart", "Kubernetes does not restart a pod when its dependency restarts")
		}
		switch {
		case dep.kind == kindJob && d.Condition == types.ServiceConditionCompletedSuccessfully:
			jobs = append(jobs, dep.name)
			continue
		case dep.kind == kindJob:
			c.warn(sp.s.Name, key, "%s is a Job, whose pods do not stay: no wait for it to start", d.Service)
			continue
		case d.Condition == types.ServiceConditionCompletedSuccessfully:
			c.warn(sp.s.Name, key, "%s is a %s, which does not complete: the pod waits until it is ready instead", d.Service, dep.kind)
		}
		spec.InitContainers = append(spec.InitContainers, c.dnsWait(dep))
	}
	c.jobWaits(sp, spec, jobs)
}

// dnsWait resolves the dependency's fully qualified name (Kubernetes
// expands $(POD_NAMESPACE) before the shell runs) until an address comes
// back; busybox's nslookup prints Name: only with an answer.
func (c *converter) dnsWait(dep *servicePlan) corev1.Container {
	fqdn := fmt.Sprintf("%s.$(POD_NAMESPACE).svc.%s", dep.name, c.opts.ClusterDomain)
	script := fmt.Sprintf("until nslookup %s 2>/dev/null | grep -q '^Name:'; do echo waiting for %s; sleep 2; done", fqdn, dep.name)
	return corev1.Container{
		Name:    dnsLabel("wait-" + dep.name),
		Image:   c.opts.WaitImage,
		Command: []string{"sh", "-c", script},
		Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
		SecurityContext: restrictedContainer(),
	}
}

// restrictedContainer meets the restricted Pod Security level, so that
// the waits never lower a service's level.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To(int64(65534)),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// jobWaits handles the Jobs that must complete first. By default nothing
// in the cluster waits: the workload is annotated and a warning says so
// (berth kube up applies in that order). With --job-wait=rbac an init
// container watches the Jobs with a token that may only read them, mounted
// in that container only.
func (c *converter) jobWaits(sp *servicePlan, spec *corev1.PodSpec, jobs []string) {
	if len(jobs) == 0 {
		return
	}
	if c.opts.JobWait != JobWaitRBAC {
		c.warn(sp.s.Name, "depends_on", "the Job %s must complete before this service starts: nothing in the cluster waits for it (annotation %s); apply and wait for it first (berth kube up does), or convert with --job-wait=rbac",
			strings.Join(jobs, ", "), AnnotationAfterJobs)
		return
	}
	account := joinName(sp.name, "job-wait")
	c.add(c.jobWaitAccess(sp, account, jobs)...)
	spec.ServiceAccountName = account
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "job-wait-token", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To(int64(3600))}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		}}}})
	args := []string{"kubectl", "wait", "--for=condition=complete", "--timeout=-1s"}
	for _, j := range jobs {
		args = append(args, "job/"+j)
	}
	spec.InitContainers = append(spec.InitContainers, corev1.Container{
		Name:            "wait-jobs",
		Image:           c.opts.JobWaitImage,
		Command:         args,
		VolumeMounts:    []corev1.VolumeMount{{Name: "job-wait-token", MountPath: serviceAccountDir, ReadOnly: true}},
		SecurityContext: restrictedContainer(),
	})
}

// jobWaitAccess is the service account of the wait and what it may do:
// read these Jobs only. kubectl wait gets the Job, then lists and watches
// it with a metadata.name field selector, which RBAC authorizes by
// resourceNames.
func (c *converter) jobWaitAccess(sp *servicePlan, account string, jobs []string) []Object {
	labels := c.objectLabels(sp.name)
	return []Object{
		&corev1.ServiceAccount{
			TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta:                   c.meta(account, labels),
			AutomountServiceAccountToken: ptr.To(false),
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: c.meta(account, labels),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"},
				Verbs: []string{"get", "list", "watch"}, ResourceNames: jobs}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: c.meta(account, labels),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: account},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: account, Namespace: c.opts.Namespace}},
		},
	}
}

// needsAPIAccess: the pod's init container talks to the API server.
func (c *converter) needsAPIAccess(sp *servicePlan) bool {
	if c.opts.JobWait != JobWaitRBAC {
		return false
	}
	for _, d := range sp.deps {
		if d.Condition == types.ServiceConditionCompletedSuccessfully && c.plans[d.Service].kind == kindJob {
			return true
		}
	}
	return false
}
