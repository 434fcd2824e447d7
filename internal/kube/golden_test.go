package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCases are the examples and the held-out stack: what a reviewer
// reads to see what berth writes.
var goldenCases = map[string]string{
	"devenv":            "../../examples/devenv",
	"integration-tests": "../../examples/integration-tests",
	"monolith-split-v1": "../../examples/monolith-split/v1",
	"monolith-split-v2": "../../examples/monolith-split/v2",
	"heldout":           "testdata/heldout",
}

// TestGolden compares the YAML stream and the warnings of each case with
// testdata/golden/<case>.yaml and .warnings (go test -update rewrites them).
func TestGolden(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, dir := range goldenCases {
		t.Run(name, func(t *testing.T) {
			abs, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			res := mustConvert(t, loadDir(t, abs), Options{})
			var stream, warnings bytes.Buffer
			if err := WriteStream(&stream, res); err != nil {
				t.Fatal(err)
			}
			for _, w := range res.Warnings {
				warnings.WriteString(strings.ReplaceAll(w.String(), root, "$ROOT") + "\n")
			}
			compareGolden(t, filepath.Join("testdata/golden", name+".yaml"), stream.Bytes())
			compareGolden(t, filepath.Join("testdata/golden", name+".warnings"), warnings.Bytes())
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return ""
}
