package kube

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretValues are the values of the test projects' secrets, as written
// and as a Secret object would carry them.
var secretValues = []string{"hunter2-heldout-Zq9", "s3cret-db-pw", "k3y-from-env"}

func leaks(text string) []string {
	var found []string
	for _, v := range secretValues {
		if strings.Contains(text, v) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(v))) ||
			strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(v+"\n"))) {
			found = append(found, v)
		}
	}
	return found
}

// TestNoSecretValueInOutput: by default no secret value reaches the
// objects, the stream, the Kustomize directory or the warnings, whatever
// the other options.
func TestNoSecretValueInOutput(t *testing.T) {
	heldout, _ := filepath.Abs("testdata/heldout")
	projects := map[string]func(t *testing.T) string{
		"heldout": func(t *testing.T) string { return heldout },
		"files": func(t *testing.T) string {
			return loadFiles(t, filesProject, "API_KEY=k3y-from-env").WorkingDir
		},
	}
	for name, dirOf := range projects {
		for _, opts := range []Options{{}, {JobWait: JobWaitRBAC, Namespace: "ns", ServiceType: ServiceClusterIP, BindMounts: BindConfigMap}} {
			t.Run(name, func(t *testing.T) {
				dir := dirOf(t)
				res := mustConvert(t, loadDir(t, dir, "API_KEY=k3y-from-env"), opts)
				var stream bytes.Buffer
				if err := WriteStream(&stream, res); err != nil {
					t.Fatal(err)
				}
				var warnings strings.Builder
				for _, w := range res.Warnings {
					warnings.WriteString(w.String() + "\n")
				}
				out := t.TempDir()
				if err := WriteKustomize(out, res, opts.Namespace); err != nil {
					t.Fatal(err)
				}
				written := readTree(t, out)
				for what, text := range map[string]string{"stream": stream.String(), "warnings": warnings.String(), "directory": written} {
					if l := leaks(text); len(l) > 0 {
						t.Errorf("%s holds the values of %v", what, l)
					}
				}
			})
		}
	}
}

// TestIncludedSecretsStayInSecrets: with --include-secrets the values are
// in the Secret objects only, never in a warning.
func TestIncludedSecretsStayInSecrets(t *testing.T) {
	res := mustConvert(t, loadFiles(t, filesProject, "API_KEY=k3y-from-env"), Options{IncludeSecrets: true})
	for _, o := range res.Objects {
		doc, err := Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if l := leaks(string(doc)); len(l) > 0 && kindOf(o) != "Secret" {
			t.Errorf("%s %s holds %v", kindOf(o), o.GetName(), l)
		}
	}
	for _, w := range res.Warnings {
		if l := leaks(w.String()); len(l) > 0 {
			t.Errorf("warning %q holds %v", w, l)
		}
	}
}

func readTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(p)
		b.Write(content)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
