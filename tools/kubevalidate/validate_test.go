package kubevalidate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/project"
)

const namespace = "berth-validate"

// variants are the option sets every Compose file is converted with: the
// defaults, and every non-default choice at once.
var variants = []struct {
	name string
	opts kube.Options
}{
	{"default", kube.Options{}},
	{"options", kube.Options{ServiceType: kube.ServiceClusterIP, PublishAs: kube.PublishNodePort,
		JobWait: kube.JobWaitRBAC, IncludeSecrets: true, BindMounts: kube.BindConfigMap,
		Registry: "registry.example:5000/team", StorageClass: "fast", VolumeSize: "5Gi"}},
}

// composeCases are the Compose files of the repository: the awesome-compose
// corpus, the examples, the config golden cases and the converter's own
// test stacks; each maps a name to its file.
func composeCases(t *testing.T) map[string]string {
	t.Helper()
	cases := map[string]string{}
	for _, pattern := range []string{
		"../../project/testdata/awesome-compose/*/compose.yaml",
		"../../project/testdata/awesome-compose/*/compose.yml",
		"../../project/testdata/awesome-compose/*/docker-compose.yaml",
		"../../project/testdata/awesome-compose/*/docker-compose.yml",
		"../../examples/*/compose.yaml",
		"../../examples/*/*/compose.yaml",
		"../../project/testdata/config/*/compose.yaml",
		"../../internal/kube/testdata/*/compose.yaml",
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel("../..", filepath.Dir(f))
			cases[rel] = abs
		}
	}
	return cases
}

// TestConvertedProjectsPassAPIValidation converts every Compose file of the
// repository with each variant of the options and checks every object as
// the API server checks a create: zero errors, zero warnings.
func TestConvertedProjectsPassAPIValidation(t *testing.T) {
	cases := composeCases(t)
	corpus, converted := 0, 0
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := load(t, file)
			if err != nil {
				if strings.Contains(name, "testdata/config") {
					t.Skipf("a golden case of a load error: %v", err)
				}
				t.Fatalf("load: %v", err)
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) { convertAndValidate(t, p, v.opts) })
			}
			converted++
			if strings.Contains(name, "awesome-compose") {
				corpus++
			}
		})
	}
	if corpus < 39 {
		t.Errorf("validated %d corpus files, want all 39", corpus)
	}
	t.Logf("validated %d Compose files (%d of the corpus)", converted, corpus)
}

func load(t *testing.T, file string) (*types.Project, error) {
	t.Chdir(filepath.Dir(file))
	t.Setenv("HOME", "/home/user")
	return project.Load(t.Context(), project.LoadOptions{ConfigPaths: []string{file},
		Environ: []string{"HOME=/home/user"}, KeepEnvFiles: true})
}

func convertAndValidate(t *testing.T, p *types.Project, opts kube.Options) {
	opts.Namespace = namespace
	res, err := kube.Convert(p, opts)
	if err != nil && opts.BindMounts == "" && strings.Contains(err.Error(), "--bind-mounts") {
		// the corpus bind-mounts: convert as the issue says, with skip
		opts.BindMounts = kube.BindSkip
		res, err = kube.Convert(p, opts)
	}
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	if len(res.Objects) == 0 {
		t.Fatal("no objects")
	}
	for _, o := range res.Objects {
		doc, err := kube.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, doc)
	}
	for _, g := range res.Generators {
		doc, err := kube.Marshal(generatedSecret(t, g))
		if err != nil {
			t.Fatal(err)
		}
		check(t, doc)
	}
}

func check(t *testing.T, doc []byte) {
	t.Helper()
	r := Create(doc, namespace)
	for _, e := range r.Errors {
		t.Errorf("%s %s: %s", r.Kind, r.Name, e)
	}
	for _, w := range r.Warnings {
		t.Errorf("%s %s: warning: %s", r.Kind, r.Name, w)
	}
	if len(r.Errors)+len(r.Warnings) > 0 {
		t.Logf("the object:\n%s", doc)
	}
}

// generatedSecret is the Secret kustomize makes of a secretGenerator.
func generatedSecret(t *testing.T, g kube.SecretGenerator) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: g.Name, Labels: g.Labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	for _, f := range g.Files {
		b, err := os.ReadFile(f.Path)
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("secretGenerator %s points at %s, which does not exist", g.Name, f.Path)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.Data[f.Key] = b
	}
	return s
}
