package kubeapply

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// The labels and annotations of KEP-3659 (ApplySet), as kubectl spells them.
const (
	labelApplySetID     = "applyset.kubernetes.io/id"
	labelApplySetPartOf = "applyset.kubernetes.io/part-of"
	annApplySetTooling  = "applyset.kubernetes.io/tooling"
	annApplySetGKs      = "applyset.kubernetes.io/contains-group-kinds"
	labelPartOf         = "app.kubernetes.io/part-of"
	labelManagedBy      = "app.kubernetes.io/managed-by"
	labelName           = "app.kubernetes.io/name"
)

// applySet is one project's set in one namespace: its parent is a ConfigMap
// named for the project; members carry the part-of label with the set's ID.
type applySet struct {
	project string
	parent  string
	id      string
	// exists: the parent is in the cluster; current are the kinds its
	// contains-group-kinds annotation lists.
	exists  bool
	current []schema.GroupKind
}

// parentName is the ConfigMap that is the parent of a project's set. The dot
// keeps it apart from every name the conversion makes (DNS labels).
func parentName(project string) string {
	return "berth-applyset." + strings.ReplaceAll(project, "_", "-")
}

// applySetID is KEP-3659's ID of a parent, computed as kubectl does:
// base64url(sha256(<name>.<namespace>.<kind>.<group>)) in "applyset-%s-v1".
func applySetID(name, namespace, kind, group string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{name, namespace, kind, group}, ".")))
	return fmt.Sprintf("applyset-%s-v1", base64.RawURLEncoding.EncodeToString(sum[:]))
}

// loadApplySet reads the parent of the project's set, if there is one, and
// refuses a ConfigMap of that name that is not berth's parent of this set.
func (c *Client) loadApplySet(ctx context.Context, project string) (*applySet, error) {
	name := parentName(project)
	set := &applySet{project: project, parent: name, id: applySetID(name, c.Namespace, "ConfigMap", "")}
	cm, err := c.core.CoreV1().ConfigMaps(c.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the ApplySet parent ConfigMap %s/%s: %w", c.Namespace, name, err)
	}
	tool, _, _ := strings.Cut(cm.Annotations[annApplySetTooling], "/")
	if tool != "berth" || cm.Labels[labelApplySetID] != set.id {
		return nil, fmt.Errorf("the ConfigMap %s/%s exists and is not the parent of berth's ApplySet for project %q (tooling %q, id %q): remove or rename it",
			c.Namespace, name, project, cm.Annotations[annApplySetTooling], cm.Labels[labelApplySetID])
	}
	set.exists = true
	for _, s := range strings.Split(cm.Annotations[annApplySetGKs], ",") {
		if s != "" {
			set.current = append(set.current, schema.ParseGroupKind(s))
		}
	}
	return set, nil
}

// writeParent applies the parent with the kinds it lists (sorted as kubectl
// writes them).
func (c *Client) writeParent(ctx context.Context, set *applySet, gks []schema.GroupKind, tooling string) error {
	var names []string
	for _, gk := range gks {
		if s := gk.String(); !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	parent := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":      set.parent,
			"namespace": c.Namespace,
			"labels": map[string]any{
				labelApplySetID: set.id,
				labelPartOf:     set.project,
				labelManagedBy:  "berth",
			},
			"annotations": map[string]any{
				annApplySetTooling: tooling,
				annApplySetGKs:     strings.Join(names, ","),
			},
		},
	}}
	// the parent is berth's alone: take it back from whoever edited it
	_, err := c.resource(kinds[3]).Apply(ctx, set.parent, parent, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("write the ApplySet parent ConfigMap %s/%s: %w", c.Namespace, set.parent, err)
	}
	set.exists = true
	set.current = gks
	return nil
}

func (c *Client) deleteParent(ctx context.Context, set *applySet) error {
	err := c.core.CoreV1().ConfigMaps(c.Namespace).Delete(ctx, set.parent, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the ApplySet parent ConfigMap %s/%s: %w", c.Namespace, set.parent, err)
	}
	return nil
}

// member is an object of the set as listed from the cluster.
type member struct {
	kind kindInfo
	obj  *unstructured.Unstructured
}

func (m member) key() objectKey {
	return objectKey{kind: m.kind.gvk.Kind, name: m.obj.GetName()}
}

// objectKey names an object of the namespace.
type objectKey struct{ kind, name string }

func (k objectKey) String() string { return k.kind + " " + k.name }

// members lists the set's objects of the given kinds: those with the set's
// part-of label that berth applied. The label alone is not enough: an object
// someone labelled by hand (or copied from berth's) is not berth's to delete.
func (c *Client) members(ctx context.Context, set *applySet, gks []schema.GroupKind) ([]member, error) {
	var out []member
	seen := map[schema.GroupKind]bool{}
	for _, gk := range gks {
		k, ok := kindByGK(gk)
		if !ok || seen[gk] {
			continue // a kind berth does not emit is not berth's to prune
		}
		seen[gk] = true
		list, err := c.resource(k).List(ctx, metav1.ListOptions{LabelSelector: labelApplySetPartOf + "=" + set.id})
		if err != nil {
			return nil, fmt.Errorf("list %s of the ApplySet: %w", k.resource, err)
		}
		for i := range list.Items {
			if appliedByBerth(&list.Items[i]) {
				out = append(out, member{kind: k, obj: &list.Items[i]})
			}
		}
	}
	return out, nil
}

// appliedByBerth: the object has fields applied by berth's field manager.
func appliedByBerth(o *unstructured.Unstructured) bool {
	for _, f := range o.GetManagedFields() {
		if f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// deleteMember deletes one object with foreground propagation (its pods and
// ReplicaSets go first), guarded by its UID so that an object recreated
// meanwhile under the same name is not the one deleted.
func (c *Client) deleteMember(ctx context.Context, m member) error {
	fg := metav1.DeletePropagationForeground
	uid := m.obj.GetUID()
	err := c.resource(m.kind).Delete(ctx, m.obj.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &fg,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s: %w", m.key(), err)
	}
	return nil
}

// gone tells whether the object of that UID no longer exists.
func (c *Client) gone(ctx context.Context, k kindInfo, name string, uid types.UID) (bool, error) {
	o, err := c.resource(k).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return o.GetUID() != uid, nil
}
