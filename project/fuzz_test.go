package project

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through the whole loading path, error
// explanation included: it may refuse them, never panic.
// Run it with: go test ./project -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/config/*/*.yaml")
	more, _ := filepath.Glob("testdata/awesome-compose/*/compose.yaml")
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("services:\n  a:\n    image: x\n    depends_on: [a]\n"))
	f.Add([]byte("services:\n  a: &x\n    image: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Environ: []string{}})
		if err != nil {
			_ = err.Error()
			return
		}
		if _, err := NewGraph(p); err == nil {
			_, _ = Render(p, "json")
		}
	})
}
