// Package kube turns a Compose project into Kubernetes objects (k8s.io/api
// types) that keep the meaning the project has under berth: every service
// resolves by name, health checks gate readiness and dependencies, one-shot
// services are Jobs, networks are enforced by NetworkPolicies. What
// Kubernetes cannot express is reported as one warning naming the service
// and the key. Conversion reads the files the project references (secrets,
// configs, env files, bind-mounted files) and nothing else; it never puts a
// secret's value in a warning or an error.
package kube

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/project"
)

// Object is a typed Kubernetes object of the output.
type Object interface {
	runtime.Object
	metav1.Object
}

// Warning is what the output cannot say of the project.
type Warning struct {
	Service string // empty for project-level keys
	Key     string // the Compose key, e.g. "healthcheck.start_interval", "volumes.data.driver"
	Message string
}

func (w Warning) String() string {
	prefix := ""
	if w.Service != "" {
		prefix = fmt.Sprintf("service %q: ", w.Service)
	}
	if w.Key != "" {
		prefix += w.Key + ": "
	}
	return prefix + w.Message
}

// SecretFile is one key of a kustomize secretGenerator: the value stays in
// the host file the Compose file names and is never copied.
type SecretFile struct {
	Key  string
	Path string // absolute
}

// SecretGenerator is a Secret kustomize builds from host files.
type SecretGenerator struct {
	Name   string
	Labels map[string]string
	Files  []SecretFile
}

// PodSecurity is the strictest Pod Security Standard a service's pods meet.
type PodSecurity struct {
	Service string
	Level   string   // restricted, baseline or privileged
	Reasons []string // why the next stricter level is not met
}

// Result is the converted project.
type Result struct {
	Objects     []Object // in apply order: kind, then name
	Generators  []SecretGenerator
	Warnings    []Warning
	PodSecurity []PodSecurity
}

// converter holds what the conversion of one project shares.
type converter struct {
	p       *types.Project
	opts    Options
	names   *namer
	graph   *project.Graph
	plans   map[string]*servicePlan // by Compose service name
	volumes map[string]*volumePlan  // by Compose volume key
	res     *Result
}

// Convert turns the project into Kubernetes objects.
func Convert(p *types.Project, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	c := &converter{p: p, opts: opts, names: newNamer(), plans: map[string]*servicePlan{},
		volumes: map[string]*volumePlan{}, res: &Result{}}
	if err := c.plan(); err != nil {
		return nil, err
	}
	c.projectWarnings()
	if err := c.files(); err != nil {
		return nil, err
	}
	for _, name := range p.ServiceNames() {
		if err := c.service(c.plans[name]); err != nil {
			return nil, err
		}
	}
	c.aliasServices()
	c.networkPolicies()
	c.claims()
	if err := c.finish(); err != nil {
		return nil, err
	}
	return c.res, nil
}

// plan decides, before any object is made, each service's name and
// workload kind and each volume's users: objects refer to each other by
// these.
func (c *converter) plan() error {
	g, err := project.NewGraph(c.p)
	if err != nil {
		return err
	}
	c.graph = g
	for _, name := range c.p.ServiceNames() {
		c.names.service(name)
	}
	for _, name := range c.p.ServiceNames() {
		sp, err := c.newServicePlan(c.p.Services[name])
		if err != nil {
			return err
		}
		c.plans[name] = sp
	}
	return c.planVolumes()
}

// add appends objects to the output, with the namespace and the labels
// every object carries.
func (c *converter) add(objs ...Object) {
	for _, o := range objs {
		if c.opts.Namespace != "" {
			o.SetNamespace(c.opts.Namespace)
		}
		c.res.Objects = append(c.res.Objects, o)
	}
}

func (c *converter) warn(service, key, format string, args ...any) {
	c.res.Warnings = append(c.res.Warnings, Warning{Service: service, Key: key, Message: fmt.Sprintf(format, args...)})
}

// kindOrder is the order objects are applied in: what others refer to first.
var kindOrder = []string{"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret",
	"PersistentVolumeClaim", "Service", "NetworkPolicy", "StatefulSet", "Deployment", "Job"}

// finish sorts the output so that the same project always gives the same
// bytes, and refuses two objects of one kind and name (possible only with
// explicit names: a config's name: equal to a derived name).
func (c *converter) finish() error {
	rank := func(o Object) int { return slices.Index(kindOrder, kindOf(o)) }
	slices.SortStableFunc(c.res.Objects, func(a, b Object) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.GetName(), b.GetName()))
	})
	c.res.Warnings = append(c.names.warnings, c.res.Warnings...)
	slices.SortStableFunc(c.res.Warnings, func(a, b Warning) int {
		return cmp.Compare(a.Service, b.Service)
	})
	slices.SortFunc(c.res.Generators, func(a, b SecretGenerator) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(c.res.PodSecurity, func(a, b PodSecurity) int { return cmp.Compare(a.Service, b.Service) })
	for i := 1; i < len(c.res.Objects); i++ {
		a, b := c.res.Objects[i-1], c.res.Objects[i]
		if kindOf(a) == kindOf(b) && a.GetName() == b.GetName() {
			return fmt.Errorf("two %s objects would be named %q: give one of the Compose elements behind them another name", kindOf(a), a.GetName())
		}
	}
	return nil
}

func kindOf(o Object) string {
	return o.GetObjectKind().GroupVersionKind().Kind
}
