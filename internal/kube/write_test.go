package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestWriteKustomize(t *testing.T) {
	heldout, _ := filepath.Abs("testdata/heldout")
	res := mustConvert(t, loadDir(t, heldout), Options{Namespace: "shop"})
	out := t.TempDir()
	if err := WriteKustomize(out, res, "shop"); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(out, "base")
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if len(files) != len(res.Objects)+1 || !slices.Contains(files, "deployment-api.yaml") || !slices.Contains(files, "job-migrate.yaml") {
		t.Errorf("files %v", files)
	}
	raw, err := os.ReadFile(filepath.Join(base, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion      string   `json:"apiVersion"`
		Kind            string   `json:"kind"`
		Namespace       string   `json:"namespace"`
		Resources       []string `json:"resources"`
		SecretGenerator []struct {
			Name    string   `json:"name"`
			Files   []string `json:"files"`
			Options struct {
				DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
				Labels                map[string]string `json:"labels"`
			} `json:"options"`
		} `json:"secretGenerator"`
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v\n%s", err, raw)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" || k.Namespace != "shop" || k.Resources[0] != "configmap-shop-web-conf.yaml" || k.Resources[len(k.Resources)-1] != "job-migrate.yaml" {
		t.Errorf("kustomization %+v", k)
	}
	gen := k.SecretGenerator
	if len(gen) != 1 || gen[0].Name != "shop-db-password" || !gen[0].Options.DisableNameSuffixHash {
		t.Fatalf("secretGenerator %+v", gen)
	}
	key, rel, _ := strings.Cut(gen[0].Files[0], "=")
	if key != "db_password" || filepath.Clean(filepath.Join(base, rel)) != filepath.Join(heldout, "db_password.txt") {
		t.Errorf("generator file %q does not lead from %s to the secret's file", gen[0].Files[0], base)
	}
	doc, err := os.ReadFile(filepath.Join(base, "deployment-api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc, []byte("apiVersion: apps/v1\nkind: Deployment\n")) || bytes.Contains(doc, []byte("status:")) ||
		bytes.Contains(doc, []byte("creationTimestamp")) {
		t.Errorf("deployment-api.yaml:\n%s", doc)
	}
}

func TestWriteKustomizeReplacesOnlyItsOwn(t *testing.T) {
	res := convertYAML(t, "name: app\nservices: {web: {image: nginx}}\n", Options{})
	out := t.TempDir()
	if err := WriteKustomize(out, res, ""); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "base", "deployment-old.yaml")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteKustomize(out, res, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a file of the previous output survived")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("%s holds %d entries, want base only", out, len(entries))
	}

	foreign := t.TempDir()
	if err := os.MkdirAll(filepath.Join(foreign, "base"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(foreign, "base", "kustomization.yaml")
	if err := os.WriteFile(mine, []byte("resources: [mine.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteKustomize(foreign, res, "")
	if err == nil || !strings.Contains(err.Error(), "was not written by berth") {
		t.Fatalf("replaced a directory berth did not write: %v", err)
	}
	if b, _ := os.ReadFile(mine); string(b) != "resources: [mine.yaml]\n" {
		t.Error("the user's kustomization changed")
	}
}

func TestWriteStream(t *testing.T) {
	res := convertYAML(t, "name: app\nservices: {web: {image: nginx}, api: {image: api}}\n", Options{})
	var b bytes.Buffer
	if err := WriteStream(&b, res); err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(b.String(), "---\n")
	if len(docs) != len(res.Objects) {
		t.Fatalf("%d documents for %d objects", len(docs), len(res.Objects))
	}
	for i, d := range docs {
		if !strings.Contains(d, "kind: "+kindOf(res.Objects[i])) {
			t.Errorf("document %d:\n%s", i, d)
		}
	}
	again := convertYAML(t, "name: app\nservices: {api: {image: api}, web: {image: nginx}}\n", Options{})
	var b2 bytes.Buffer
	if err := WriteStream(&b2, again); err != nil {
		t.Fatal(err)
	}
	if b.String() != b2.String() {
		t.Error("the same project gives different bytes")
	}
}
