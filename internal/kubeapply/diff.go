package kubeapply

import (
	"context"
	"fmt"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/internal/kube"
)

// DiffOptions are what `berth kube diff` compares.
type DiffOptions struct {
	Project        string
	Objects        []kube.Object
	ForceConflicts bool
	// Prune shows the members an up would prune as removed.
	Prune bool
}

// ObjectDiff is how one object would change: a unified diff of its YAML as
// it is and as a server-side dry run of the apply makes it.
type ObjectDiff struct {
	Kind, Name string
	Note       string // e.g. "created", "pruned", "recreated: a Job's template is immutable"
	Unified    string
}

// Diff dry-runs the apply object by object on the server (admission,
// defaults and field ownership included) and returns the objects that would
// change. Secret values are masked on both sides: a changed value shows as
// "*** (before)" / "*** (after)", as kubectl diff does.
func (c *Client) Diff(ctx context.Context, opts DiffOptions) ([]ObjectDiff, error) {
	set, err := c.loadApplySet(ctx, opts.Project)
	if err != nil {
		return nil, err
	}
	ds, err := prepare(opts.Objects, set, c.Namespace)
	if err != nil {
		return nil, err
	}
	var out []ObjectDiff
	want := map[objectKey]bool{}
	for _, d := range ds {
		want[d.key()] = true
		od, err := c.diffObject(ctx, d, opts.ForceConflicts)
		if err != nil {
			return nil, err
		}
		if od != nil {
			out = append(out, *od)
		}
	}
	if !opts.Prune || !set.exists {
		return out, nil
	}
	old, err := c.members(ctx, set, set.current)
	if err != nil {
		return nil, err
	}
	for _, m := range old {
		if want[m.key()] || m.kind.gvk.Kind == "PersistentVolumeClaim" {
			continue
		}
		od, err := unified(m.key(), m.obj, nil, "pruned")
		if err != nil {
			return nil, err
		}
		out = append(out, *od)
	}
	return out, nil
}

func (c *Client) diffObject(ctx context.Context, d desired, force bool) (*ObjectDiff, error) {
	live, err := c.resource(d.kind).Get(ctx, d.obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		live = nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.key(), err)
	}
	if live != nil && d.kind.gvk.Kind == "Job" && live.GetAnnotations()[annJobHash] != d.obj.GetAnnotations()[annJobHash] {
		// the dry run would refuse the immutable template: show what berth sends
		return unified(d.key(), live, d.obj, "recreated: a Job's template is immutable")
	}
	merged, err := c.apply(ctx, d, force, true)
	if err != nil {
		return nil, err
	}
	note := "changed"
	if live == nil {
		note = "created"
	}
	return unified(d.key(), live, merged, note)
}

// unified renders before and after as YAML without the fields that change
// on every write, and diffs them; nil when they are the same.
func unified(key objectKey, before, after *unstructured.Unstructured, note string) (*ObjectDiff, error) {
	a, b := cleanCopy(before), cleanCopy(after)
	if key.kind == "Secret" {
		maskSecret(a, b)
	}
	ya, err := toYAML(a)
	if err != nil {
		return nil, err
	}
	yb, err := toYAML(b)
	if err != nil {
		return nil, err
	}
	if ya == yb {
		return nil, nil
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(ya), B: difflib.SplitLines(yb),
		FromFile: "live/" + key.kind + "/" + key.name, ToFile: "applied/" + key.kind + "/" + key.name, Context: 3,
	})
	if err != nil {
		return nil, err
	}
	return &ObjectDiff{Kind: key.kind, Name: key.name, Note: note, Unified: text}, nil
}

func cleanCopy(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	o := u.DeepCopy().Object
	unstructured.RemoveNestedField(o, "metadata", "managedFields")
	return o
}

func toYAML(o map[string]any) (string, error) {
	if o == nil {
		return "", nil
	}
	b, err := yaml.Marshal(o)
	return string(b), err
}

// maskSecret replaces the values of data and stringData with asterisks,
// marking those that differ.
func maskSecret(before, after map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		a, _, _ := unstructured.NestedMap(before, field)
		b, _, _ := unstructured.NestedMap(after, field)
		for k, v := range a {
			if bv, ok := b[k]; ok && bv != v {
				a[k], b[k] = "*** (before)", "*** (after)"
			} else {
				a[k] = "***"
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok || b[k] != "*** (after)" {
				b[k] = "***"
			}
		}
		if before != nil && a != nil {
			_ = unstructured.SetNestedMap(before, a, field)
		}
		if after != nil && b != nil {
			_ = unstructured.SetNestedMap(after, b, field)
		}
	}
}
