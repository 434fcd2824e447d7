package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Values of the options.
const (
	ServiceHeadless  = "headless"
	ServiceClusterIP = "clusterip"

	PublishLoadBalancer = "loadbalancer"
	PublishNodePort     = "nodeport"
	PublishNone         = "none"

	BindRefuse    = ""
	BindSkip      = "skip"
	BindConfigMap = "configmap"

	JobWaitAnnotate = ""
	JobWaitRBAC     = "rbac"
)

// Defaults of the options.
const (
	DefaultWaitImage     = "busybox:1.37"
	DefaultJobWaitImage  = "registry.k8s.io/kubectl:v1.37.2"
	DefaultVolumeSize    = "1Gi"
	DefaultClusterDomain = "cluster.local"
)

// Options choose among the ways a Compose project can become Kubernetes
// objects; the zero value (with defaults filled by Convert) is the
// documented default of `berth kube convert`.
type Options struct {
	// Namespace is set on every object when not empty.
	Namespace string
	// ServiceType is headless (default: every port reachable, as on a
	// Compose network) or clusterip (the ports of ports and expose).
	ServiceType string
	// PublishAs is the type of the <service>-published Services.
	PublishAs string
	// BindMounts: refuse (""), skip, or configmap (files under 1 MiB).
	BindMounts string
	// IncludeSecrets embeds secret values in Secret objects instead of
	// pointing a kustomize secretGenerator at their files.
	IncludeSecrets bool
	// JobWait: "" annotates a dependency on a Job's completion; rbac adds an
	// init container that watches the Job.
	JobWait       string
	WaitImage     string
	JobWaitImage  string
	VolumeSize    string
	StorageClass  string
	ClusterDomain string
	// Registry (HOST/PATH) rewrites the images of services with build:.
	Registry string
}

func (o *Options) setDefaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.ServiceType, ServiceHeadless)
	def(&o.PublishAs, PublishLoadBalancer)
	def(&o.WaitImage, DefaultWaitImage)
	def(&o.JobWaitImage, DefaultJobWaitImage)
	def(&o.VolumeSize, DefaultVolumeSize)
	def(&o.ClusterDomain, DefaultClusterDomain)
}

// Validate reports the first option value that is not one of its choices;
// the messages name the flag.
func (o Options) Validate() error {
	oneOf := func(flag, v string, choices ...string) error {
		for _, c := range choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("--%s %q: use one of %s", flag, v, strings.Join(choices[1:], ", "))
	}
	if err := oneOf("service-type", o.ServiceType, "", ServiceHeadless, ServiceClusterIP); err != nil {
		return err
	}
	if err := oneOf("publish-as", o.PublishAs, "", PublishLoadBalancer, PublishNodePort, PublishNone); err != nil {
		return err
	}
	if err := oneOf("bind-mounts", o.BindMounts, BindRefuse, BindSkip, BindConfigMap); err != nil {
		return err
	}
	if err := oneOf("job-wait", o.JobWait, JobWaitAnnotate, JobWaitRBAC); err != nil {
		return err
	}
	if o.JobWait == JobWaitRBAC && o.Namespace == "" {
		return fmt.Errorf("--job-wait=rbac needs --namespace: the RoleBinding names the namespace of the waiting pod's service account")
	}
	if o.VolumeSize != "" {
		if _, err := resource.ParseQuantity(o.VolumeSize); err != nil {
			return fmt.Errorf("--volume-size %q: not a quantity (e.g. 1Gi, 500Mi)", o.VolumeSize)
		}
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("--namespace %q: %s", o.Namespace, errs[0])
		}
	}
	if o.StorageClass != "" {
		if errs := validation.IsDNS1123Subdomain(o.StorageClass); len(errs) > 0 {
			return fmt.Errorf("--storage-class %q: %s", o.StorageClass, errs[0])
		}
	}
	if o.Registry != "" && (strings.Contains(o.Registry, "://") || strings.HasSuffix(o.Registry, "/")) {
		return fmt.Errorf("--registry %q: give HOST[:PORT]/PATH, without scheme or trailing /", o.Registry)
	}
	return nil
}
