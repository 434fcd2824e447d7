// Package kubevalidate checks berth's Kubernetes output the way the API
// server checks a create request: strict decoding of the YAML berth writes,
// defaulting, conversion to the internal version, and the create strategy
// of each kind (its PrepareForCreate, the hand-written validation of
// k8s.io/kubernetes/pkg/apis/*/validation and the declarative validation).
// It is a module of its own so that berth's module never requires
// k8s.io/kubernetes.
package kubevalidate

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	api "k8s.io/kubernetes/pkg/apis/core"
	"k8s.io/kubernetes/pkg/capabilities"
	"k8s.io/kubernetes/pkg/registry/apps/deployment"
	"k8s.io/kubernetes/pkg/registry/apps/statefulset"
	"k8s.io/kubernetes/pkg/registry/batch/job"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolumeclaim"
	"k8s.io/kubernetes/pkg/registry/core/secret"
	"k8s.io/kubernetes/pkg/registry/core/service"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/networking/networkpolicy"
	"k8s.io/kubernetes/pkg/registry/rbac/role"
	"k8s.io/kubernetes/pkg/registry/rbac/rolebinding"

	// the API groups berth writes, registered in the legacy scheme with
	// their defaults and conversions
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
)

// kindInfo is what the API server knows of a kind: its resource (for the
// request information declarative validation reads) and create strategy.
type kindInfo struct {
	resource string
	strategy rest.RESTCreateStrategy
}

var kinds = map[schema.GroupKind]kindInfo{
	{Group: "apps", Kind: "Deployment"}:                       {"deployments", deployment.Strategy},
	{Group: "apps", Kind: "StatefulSet"}:                      {"statefulsets", statefulset.Strategy},
	{Group: "batch", Kind: "Job"}:                             {"jobs", job.Strategy},
	{Kind: "Service"}:                                         {"services", service.Strategy},
	{Kind: "ConfigMap"}:                                       {"configmaps", configmap.Strategy},
	{Kind: "Secret"}:                                          {"secrets", secret.Strategy},
	{Kind: "PersistentVolumeClaim"}:                           {"persistentvolumeclaims", persistentvolumeclaim.Strategy},
	{Kind: "ServiceAccount"}:                                  {"serviceaccounts", serviceaccount.Strategy},
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:       {"networkpolicies", networkpolicy.Strategy},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:        {"roles", role.Strategy},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}: {"rolebindings", rolebinding.Strategy},
}

var strictCodecs = serializer.NewCodecFactory(legacyscheme.Scheme, serializer.EnableStrict)

func init() {
	// kube-apiserver --allow-privileged=true, as kubeadm, kind and most
	// clusters start it (its own default is false): privileged containers
	// are then a matter of Pod Security, which berth reports per service
	capabilities.Setup(true, 0)
}

// Result is the server's answer to a create: its errors, and the warnings
// it would return with a success.
type Result struct {
	Kind, Name string
	Errors     []string
	Warnings   []string
}

// Create checks one YAML document as a create request in namespace.
func Create(doc []byte, namespace string) Result {
	obj, gvk, err := strictCodecs.UniversalDeserializer().Decode(doc, nil, nil)
	if err != nil {
		return Result{Errors: []string{"decode: " + err.Error()}}
	}
	res := Result{Kind: gvk.Kind}
	info, ok := kinds[gvk.GroupKind()]
	if !ok {
		res.Errors = []string{fmt.Sprintf("kind %s is not one berth writes", gvk)}
		return res
	}
	legacyscheme.Scheme.Default(obj)
	internal, err := legacyscheme.Scheme.ConvertToVersion(obj, schema.GroupVersion{Group: gvk.Group, Version: runtime.APIVersionInternal})
	if err != nil {
		res.Errors = []string{"convert: " + err.Error()}
		return res
	}
	meta, err := metaOf(internal)
	if err != nil {
		res.Errors = []string{err.Error()}
		return res
	}
	res.Name = meta.GetName()
	rest.FillObjectMetaSystemFields(meta)
	if meta.GetNamespace() == "" {
		meta.SetNamespace(namespace)
	}
	allocate(internal)
	recorder := &warnings{}
	ctx := genericapirequest.WithNamespace(context.Background(), namespace)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "create", APIGroup: gvk.Group, APIVersion: gvk.Version,
		Resource: info.resource, Namespace: namespace, Name: meta.GetName()})
	ctx = warning.WithWarningRecorder(ctx, recorder)
	if err := rest.BeforeCreate(info.strategy, ctx, internal); err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	res.Warnings = recorder.list
	return res
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// allocate does what the Service registry does before validation (its
// normalizeClusterIPs and allocator, on a single-stack IPv4 cluster):
// clusterIPs from clusterIP, IP families, a cluster IP for a Service that
// is not headless, node ports for NodePort and LoadBalancer Services that
// leave them to the cluster.
func allocate(obj runtime.Object) {
	svc, ok := obj.(*api.Service)
	if !ok || svc.Spec.Type == api.ServiceTypeExternalName {
		return
	}
	if svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIP = nextAddr()
	}
	if len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	if svc.Spec.IPFamilyPolicy == nil {
		single := api.IPFamilyPolicySingleStack
		svc.Spec.IPFamilyPolicy = &single
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = []api.IPFamily{api.IPv4Protocol}
	}
	if svc.Spec.Type == api.ServiceTypeNodePort || svc.Spec.Type == api.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort == 0 {
				svc.Spec.Ports[i].NodePort = nextNodePort()
			}
		}
	}
}

var (
	allocMu  sync.Mutex
	lastAddr = netip.MustParseAddr("10.96.0.1")
	lastPort = int32(32000)
)

func nextAddr() string {
	allocMu.Lock()
	defer allocMu.Unlock()
	lastAddr = lastAddr.Next()
	return lastAddr.String()
}

func nextNodePort() int32 {
	allocMu.Lock()
	defer allocMu.Unlock()
	lastPort++
	return lastPort
}

type warnings struct{ list []string }

func (w *warnings) AddWarning(agent, text string) {
	w.list = append(w.list, strings.TrimSpace(text))
}
