package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// kustomizationHeader marks a kustomization berth wrote, which a later
// conversion may replace.
const kustomizationHeader = "# Written by berth kube convert from the Compose file: convert again rather than edit;\n" +
	"# customise in an overlay (kustomize) that has this directory as a resource.\n"

// generatorNote explains what kustomize needs to read secret files that
// live beside the Compose file.
const generatorNote = "# The secretGenerator reads the secrets' files where the Compose file keeps them, outside this\n" +
	"# directory, which kustomize allows with: kubectl kustomize --load-restrictor LoadRestrictionsNone DIR\n"

// Marshal is an object's YAML document, without the empty status the API
// types carry.
func Marshal(o Object) ([]byte, error) {
	doc, err := Document(o)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(doc)
}

// Document is an object as the JSON map berth writes and applies: without
// the status and the empty objects the API types carry, so that a
// server-side apply claims no field the conversion did not set.
func Document(o Object) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", kindOf(o), o.GetName(), err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	// the server's to write: a StatefulSet's has counters even when empty
	delete(doc, "status")
	prune(doc)
	if meta, ok := doc["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
		delete(meta, "creationTimestamp")
	}
	return doc, nil
}

// prune removes the empty status, resources and strategy objects the
// types' encoders emit; other empty objects ({} emptyDir, an all-pods
// selector, an allow-all rule) mean something and stay.
func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range []string{"status", "resources", "strategy", "updateStrategy"} {
			if m, ok := t[k].(map[string]any); ok && deepEmpty(m) {
				delete(t, k)
			}
		}
		for _, child := range t {
			prune(child)
		}
	case []any:
		for _, child := range t {
			prune(child)
		}
	}
}

// deepEmpty: a map of nothing but empty maps.
func deepEmpty(m map[string]any) bool {
	for _, v := range m {
		child, ok := v.(map[string]any)
		if !ok || !deepEmpty(child) {
			return false
		}
	}
	return true
}

// WriteStream writes the objects as one multi-document YAML stream. Secrets
// kustomize would generate are not in it: the caller reports them.
func WriteStream(w io.Writer, res *Result) error {
	for i, o := range res.Objects {
		doc, err := Marshal(o)
		if err != nil {
			return err
		}
		if i > 0 {
			doc = append([]byte("---\n"), doc...)
		}
		if _, err := w.Write(doc); err != nil {
			return err
		}
	}
	return nil
}

// FileName is the file of an object in the base directory.
func FileName(o Object) string {
	return strings.ToLower(kindOf(o)) + "-" + o.GetName() + ".yaml"
}

// WriteKustomize writes dir/base: one file per object and a
// kustomization.yaml that lists them in apply order, with the namespace
// and the secretGenerators. The directory is written aside and then put in
// place, so a failure leaves the previous output as it was; a base
// directory berth did not write is not replaced.
func WriteKustomize(dir string, res *Result, namespace string) error {
	base := filepath.Join(dir, "base")
	if err := checkReplaceable(base); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(dir, ".base-")
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	if err := writeBase(tmp, base, res, namespace); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return swapDir(tmp, base)
}

func writeBase(tmp, base string, res *Result, namespace string) error {
	var k bytes.Buffer
	k.WriteString(kustomizationHeader)
	if len(res.Generators) > 0 {
		k.WriteString(generatorNote)
	}
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if namespace != "" {
		fmt.Fprintf(&k, "namespace: %s\n", namespace)
	}
	k.WriteString("resources:\n")
	for _, o := range res.Objects {
		doc, err := Marshal(o)
		if err != nil {
			return err
		}
		name := FileName(o)
		if err := os.WriteFile(filepath.Join(tmp, name), doc, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		fmt.Fprintf(&k, "- %s\n", name)
	}
	gen, err := generators(base, res.Generators)
	if err != nil {
		return err
	}
	k.Write(gen)
	return os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), k.Bytes(), 0o644)
}

// generators is the secretGenerator section: each file relative to the
// base directory, no hash suffix so that the Secrets keep the names the
// pods refer to.
func generators(base string, gens []SecretGenerator) ([]byte, error) {
	if len(gens) == 0 {
		return nil, nil
	}
	type options struct {
		DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
		Labels                map[string]string `json:"labels,omitempty"`
	}
	type generator struct {
		Name    string   `json:"name"`
		Files   []string `json:"files"`
		Options options  `json:"options"`
	}
	absBase, err := filepath.Abs(base)
	if err != nil {
		return nil, err
	}
	var list []generator
	for _, g := range gens {
		gen := generator{Name: g.Name, Options: options{DisableNameSuffixHash: true, Labels: g.Labels}}
		for _, f := range g.Files {
			rel, err := filepath.Rel(absBase, f.Path)
			if err != nil {
				return nil, fmt.Errorf("secret %s: %w", g.Name, err)
			}
			gen.Files = append(gen.Files, f.Key+"="+filepath.ToSlash(rel))
		}
		list = append(list, gen)
	}
	return yaml.Marshal(map[string]any{"secretGenerator": list})
}

// checkReplaceable refuses to replace a base directory that holds files
// and no kustomization berth wrote.
func checkReplaceable(base string) error {
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", base, err)
	}
	k, err := os.ReadFile(filepath.Join(base, "kustomization.yaml"))
	if err != nil || !bytes.HasPrefix(k, []byte(kustomizationHeader)) {
		return fmt.Errorf("%s exists and was not written by berth kube convert: choose another --output directory", base)
	}
	return nil
}

// swapDir puts tmp in place of dst; the old dst is removed only once the
// new one is there.
func swapDir(tmp, dst string) error {
	old := dst + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Rename(old, dst)
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	return os.RemoveAll(old)
}
