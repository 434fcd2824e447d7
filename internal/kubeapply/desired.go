package kubeapply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/internal/kube"
)

// annJobHash is the hash of a Job's spec as berth applied it: a Job's pod
// template is immutable, so a Job whose hash changed is deleted and created
// again, and one whose hash did not is left alone (completed, it is not run
// again).
const annJobHash = "berth.dev/job-hash"

// desired is one object to apply.
type desired struct {
	kind      kindInfo
	obj       *unstructured.Unstructured
	afterJobs []string // Jobs that must complete before it is applied
}

func (d desired) key() objectKey { return objectKey{kind: d.kind.gvk.Kind, name: d.obj.GetName()} }

// service is the Compose service an object belongs to (its name label).
func (d desired) service() string { return d.obj.GetLabels()[labelName] }

func (d desired) isWorkload() bool {
	switch d.kind.gvk.Kind {
	case "Deployment", "StatefulSet", "Job":
		return true
	}
	return false
}

// prepare turns the converted objects into what is applied: in the
// namespace, labelled as members of the set, Jobs with their spec's hash.
func prepare(objects []kube.Object, set *applySet, namespace string) ([]desired, error) {
	out := make([]desired, 0, len(objects))
	for _, o := range objects {
		gvk := o.GetObjectKind().GroupVersionKind()
		k, ok := kindByGK(gvk.GroupKind())
		if !ok || k.gvk.Version != gvk.Version {
			return nil, fmt.Errorf("%s %s: berth does not apply this kind", gvk.Kind, o.GetName())
		}
		doc, err := kube.Document(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: doc}
		u.SetNamespace(namespace)
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[labelApplySetPartOf] = set.id
		u.SetLabels(labels)
		d := desired{kind: k, obj: u}
		if after := u.GetAnnotations()[kube.AnnotationAfterJobs]; after != "" {
			d.afterJobs = strings.Split(after, ",")
		}
		if k.gvk.Kind == "Job" {
			if err := setJobHash(u); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func setJobHash(u *unstructured.Unstructured) error {
	b, err := json.Marshal(u.Object["spec"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[annJobHash] = hex.EncodeToString(sum[:8])
	u.SetAnnotations(ann)
	return nil
}

// groupKinds are the kinds of the objects, for the parent's annotation.
func groupKinds(ds []desired, ms []member) []schema.GroupKind {
	var out []schema.GroupKind
	add := func(gk schema.GroupKind) {
		if !slices.Contains(out, gk) {
			out = append(out, gk)
		}
	}
	for _, d := range ds {
		add(d.kind.gvk.GroupKind())
	}
	for _, m := range ms {
		add(m.kind.gvk.GroupKind())
	}
	return out
}

// union of two lists of kinds.
func unionKinds(a, b []schema.GroupKind) []schema.GroupKind {
	out := slices.Clone(a)
	for _, gk := range b {
		if !slices.Contains(out, gk) {
			out = append(out, gk)
		}
	}
	return out
}
