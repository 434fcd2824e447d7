// Package kubeapply applies a converted Compose project (internal/kube) to a
// Kubernetes cluster and keeps it converged: server-side apply with the field
// manager "berth" as an ApplySet (KEP-3659), pruning of the set's members that
// left the project, waits for workloads with progress and failure reasons,
// removal, a server-side dry-run diff, and the pods' status and logs.
//
// It talks to the API server through client-go with the user's kubeconfig, as
// kubectl does. Secret values go from memory to the API server only: no error,
// event or diff line carries one. The package never prints: progress goes to
// an injected progress.Sink, results are returned to cmd/berth.
package kubeapply

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/internal/progress"
)

// FieldManager is the field manager of every apply berth makes.
const FieldManager = "berth"

// Target chooses the cluster and namespace as kubectl's flags do: an empty
// Kubeconfig reads $KUBECONFIG (a list of files) or ~/.kube/config, an empty
// Context the current one, an empty Namespace the context's (or "default").
type Target struct {
	Kubeconfig string
	Context    string
	Namespace  string
}

// Client is a connection to one namespace of one cluster.
type Client struct {
	Namespace string
	core      kubernetes.Interface
	dyn       dynamic.Interface
	sink      progress.Sink
}

// Connect reads the kubeconfig and returns a client for the target's
// namespace. Nothing is sent to the cluster yet.
func Connect(t Target, sink progress.Sink) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = t.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: t.Context}
	overrides.Context.Namespace = t.Namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return NewClient(cfg, ns, sink)
}

// NewClient returns a client for namespace with the given REST config.
func NewClient(cfg *rest.Config, namespace string, sink progress.Sink) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	// a project is tens of objects applied, listed and polled: client-go's
	// default of 5 requests a second would make that slow
	cfg.QPS, cfg.Burst = 50, 100
	if cfg.UserAgent == "" {
		cfg.UserAgent = "berth"
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if namespace == "" {
		namespace = "default"
	}
	return &Client{Namespace: namespace, core: core, dyn: dyn, sink: progress.Or(sink)}, nil
}

// kindInfo is one kind of object berth emits: all are namespaced.
type kindInfo struct {
	gvk      schema.GroupVersionKind
	resource string
}

func (k kindInfo) gvr() schema.GroupVersionResource {
	return k.gvk.GroupVersion().WithResource(k.resource)
}

// kinds are the kinds internal/kube emits, in apply order: what others refer
// to first. Pruning and removal look at these kinds only, so an object of any
// other kind is never touched whatever its labels.
var kinds = []kindInfo{
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, "serviceaccounts"},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, "roles"},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, "rolebindings"},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "configmaps"},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, "secrets"},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, "persistentvolumeclaims"},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "services"},
	{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, "networkpolicies"},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, "statefulsets"},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments"},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, "jobs"},
}

// kindByGK finds a kind berth emits by group and kind.
func kindByGK(gk schema.GroupKind) (kindInfo, bool) {
	for _, k := range kinds {
		if k.gvk.GroupKind() == gk {
			return k, true
		}
	}
	return kindInfo{}, false
}

func (c *Client) resource(k kindInfo) dynamic.ResourceInterface {
	return c.dyn.Resource(k.gvr()).Namespace(c.Namespace)
}

// CreateNamespace applies the client's Namespace: the one cluster-scoped
// object berth makes, and only when asked (`kube up --create-namespace`).
// It is not a member of any set: `kube down` leaves it.
func (c *Client) CreateNamespace(ctx context.Context) error {
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": c.Namespace},
	}}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	_, err := c.dyn.Resource(gvr).Apply(ctx, c.Namespace, ns, metav1.ApplyOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", c.Namespace, err)
	}
	c.sink.Event(progress.Event{ID: "Namespace " + c.Namespace, Status: "Applied", Done: true})
	return nil
}
