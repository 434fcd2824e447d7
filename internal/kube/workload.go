package kube

import (
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// Recommended labels (app.kubernetes.io/*) every object carries.
const (
	labelName      = "app.kubernetes.io/name"
	labelPartOf    = "app.kubernetes.io/part-of"
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "berth"
)

// servicePlan is what is decided about a service before its objects are
// made.
type servicePlan struct {
	s         types.ServiceConfig
	name      string // its Kubernetes name
	kind      string // Deployment, Job or StatefulSet
	replicas  int32
	networks  []attachment
	ports     []portMapping
	exposed   []portMapping
	health    *healthCheck
	restart   restartPolicy
	deps      []dependency
	aliases   []string // container_name, hostname, network aliases
	hostNet   bool
	usesClaim bool // mounts a PersistentVolumeClaim: its pods are replaced, not rolled
}

func (c *converter) newServicePlan(s types.ServiceConfig) (*servicePlan, error) {
	ext, err := serviceExtensionOf(s)
	if err != nil {
		return nil, err
	}
	sp := &servicePlan{s: s, name: c.names.lookup(s.Name), kind: ext.Kind, replicas: int32(s.GetScale()),
		restart: restartOf(s), deps: dependenciesOf(c.p, c.graph, s), hostNet: s.NetworkMode == "host"}
	if sp.ports, err = portsOf(s); err != nil {
		return nil, err
	}
	if sp.exposed, err = exposedOf(s); err != nil {
		return nil, err
	}
	own, err := networksOf(c.p, s)
	if err != nil {
		return nil, err
	}
	sp.aliases = aliasesOf(own)
	switch {
	case s.NetworkMode == "":
		sp.networks = own
	case strings.HasPrefix(s.NetworkMode, types.NetworkModeServicePrefix):
		// the pod cannot share the other's namespace: it gets its networks
		other := c.p.Services[strings.TrimPrefix(s.NetworkMode, types.NetworkModeServicePrefix)]
		if sp.networks, err = networksOf(c.p, other); err != nil {
			return nil, err
		}
	}
	var inherited bool
	if sp.health, inherited = healthOf(s); inherited {
		c.warn(s.Name, "healthcheck", "it tunes the image's own health check, which the conversion cannot read: no probe; set healthcheck.test")
	}
	if sp.kind == "" {
		sp.kind = kindDeployment
		if c.completionAwaited(s.Name) {
			sp.kind = kindJob
		}
	}
	return sp, nil
}

// completionAwaited tells whether another service waits for this one to
// complete: a one-shot step, which becomes a Job.
func (c *converter) completionAwaited(name string) bool {
	for _, other := range c.p.Services {
		if d, ok := other.DependsOn[name]; ok && d.Condition == types.ServiceConditionCompletedSuccessfully {
			return true
		}
	}
	return false
}

// objectLabels are the labels of an object that belongs to the named part
// of the project.
func (c *converter) objectLabels(name string) map[string]string {
	return map[string]string{labelName: labelValue(name), labelPartOf: labelValue(c.p.Name), labelManagedBy: managedBy}
}

// selector selects the pods of one service of this project.
func (c *converter) selector(sp *servicePlan) map[string]string {
	return map[string]string{labelName: sp.name, labelPartOf: labelValue(c.p.Name)}
}

func (c *converter) meta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: labels}
}

// service makes every object of one service.
func (c *converter) service(sp *servicePlan) error {
	c.unsupported(sp)
	tmpl, err := c.podTemplate(sp)
	if err != nil {
		return err
	}
	c.add(c.workload(sp, tmpl))
	c.add(c.namedService(sp))
	if svc := c.publishedService(sp); svc != nil {
		c.add(svc)
	}
	c.podSecurity(sp, tmpl)
	return nil
}

func (c *converter) workload(sp *servicePlan, tmpl corev1.PodTemplateSpec) Object {
	meta := c.meta(sp.name, c.objectLabels(sp.name))
	meta.Annotations = c.workloadAnnotations(sp)
	selector := &metav1.LabelSelector{MatchLabels: c.selector(sp)}
	switch sp.kind {
	case kindJob:
		return c.job(sp, meta, tmpl)
	case kindStatefulSet:
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyAlways
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: kindStatefulSet},
			ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(sp.replicas), Selector: selector, Template: tmpl,
				ServiceName: sp.name, PodManagementPolicy: appsv1.ParallelPodManagement,
				VolumeClaimTemplates: c.claimTemplates(sp)},
		}
	}
	if sp.restart.Name == "on-failure" {
		c.warn(sp.s.Name, "restart", "%q: a Deployment restarts its pods whatever their exit code", sp.s.Restart)
	}
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyAlways
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: kindDeployment},
		ObjectMeta: meta,
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(sp.replicas), Selector: selector, Template: tmpl},
	}
	if sp.usesClaim {
		// a rolling update would start the new pod while the old one holds
		// the claim: Compose too stops the old container first
		d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	}
	return d
}

// job runs the service to completion: restart: on-failure[:N] retries in
// place up to N times, anything else runs it once.
func (c *converter) job(sp *servicePlan, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec) Object {
	spec := batchv1.JobSpec{Completions: ptr.To(sp.replicas), Parallelism: ptr.To(sp.replicas), Template: tmpl}
	switch sp.restart.Name {
	case "on-failure":
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		if sp.restart.MaxRetries > 0 {
			spec.BackoffLimit = ptr.To(int32(sp.restart.MaxRetries))
		} else {
			c.warn(sp.s.Name, "restart", "on-failure without a maximum: the Job retries %d times (its default backoffLimit)", 6)
		}
	case "always", "unless-stopped":
		c.warn(sp.s.Name, "restart", "%q: a Job runs to completion once; it is not restarted", sp.restart.Name)
		fallthrough
	default:
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		spec.BackoffLimit = ptr.To(int32(0))
	}
	return &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: kindJob}, ObjectMeta: meta, Spec: spec}
}

// workloadAnnotations carry deploy.labels, and say which Jobs must complete
// before the workload starts when nothing in the cluster waits for them.
func (c *converter) workloadAnnotations(sp *servicePlan) map[string]string {
	ann := map[string]string{}
	if sp.s.Deploy != nil {
		c.copyAnnotations(sp.s.Name, "deploy.labels", sp.s.Deploy.Labels, ann)
	}
	var jobs []string
	for _, d := range sp.deps {
		if d.Condition == types.ServiceConditionCompletedSuccessfully && c.plans[d.Service].kind == kindJob {
			jobs = append(jobs, c.plans[d.Service].name)
		}
	}
	if len(jobs) > 0 {
		ann[AnnotationAfterJobs] = strings.Join(jobs, ",")
	}
	if len(ann) == 0 {
		return nil
	}
	return ann
}

// AnnotationAfterJobs lists the Jobs that must complete before the
// workload's pods start; `berth kube up` applies in that order.
const AnnotationAfterJobs = "berth.dev/after-jobs"

// copyAnnotations copies Compose labels into annotations, which take any
// value; a key Kubernetes refuses is one warning.
func (c *converter) copyAnnotations(service, key string, from map[string]string, to map[string]string) {
	var refused []string
	for k, v := range from {
		if err := annotationKeyError(k); err != "" {
			refused = append(refused, k)
			continue
		}
		to[k] = v
	}
	slices.Sort(refused)
	for _, k := range refused {
		c.warn(service, key, "%q is not a valid annotation key (%s): left out", k, annotationKeyError(k))
	}
}

func annotationKeyError(k string) string {
	if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
		return errs[0]
	}
	return ""
}
