package project

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCorpusMatchesDockerCompose loads each real-world file of the
// awesome-compose collection and compares berth's `config --format json`
// with what Docker Compose printed for it, as data. Each is loaded twice: the
// second load of a file that passed the schema skips it (verdict.go), and
// must give the same answer.
func TestCorpusMatchesDockerCompose(t *testing.T) {
	root, err := filepath.Abs("testdata/awesome-compose")
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	useVerdictDir(t)
	n, remembered := 0, 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(root, d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			want := readJSON(t, filepath.Join(dir, "docker-compose-config.json"))
			t.Chdir(dir)
			// ~ expands with the process HOME, as in the recorded run
			t.Setenv("HOME", "/home/user")
			for _, load := range []string{"first load", "second load"} {
				before := verdicts(t)
				p, err := Load(t.Context(), LoadOptions{Environ: []string{"HOME=/home/user"}})
				if err != nil {
					t.Fatalf("%s: %v", load, err)
				}
				if load == "first load" && verdicts(t) > before {
					remembered++
				}
				out, err := Render(p, "json")
				if err != nil {
					t.Fatal(err)
				}
				// Docker Compose's answers write the corpus directory as a variable
				out = []byte(strings.ReplaceAll(string(out), root, "${CORPUS_DIR}"))
				var got any
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%s: berth printed invalid JSON: %v\n%s", load, err, out)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: config differs from Docker Compose's:\n%s", load, jsonDiff(got, want, ""))
				}
			}
		})
	}
	if n < 25 {
		t.Fatalf("corpus has %d projects, want at least 25", n)
	}
	// most files qualify; those naming version, include or extends do not
	if remembered < n/2 {
		t.Errorf("%d of %d projects remembered as valid", remembered, n)
	}
	t.Logf("%d of %d projects remembered as valid", remembered, n)
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// jsonDiff lists the paths where two decoded JSON documents differ.
func jsonDiff(got, want any, path string) string {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok && wok {
		var b strings.Builder
		for k := range union(gm, wm) {
			b.WriteString(jsonDiff(gm[k], wm[k], path+"."+k))
		}
		return b.String()
	}
	if reflect.DeepEqual(got, want) {
		return ""
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return path + ":\n  berth:  " + string(g) + "\n  docker: " + string(w) + "\n"
}

func union(a, b map[string]any) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}
