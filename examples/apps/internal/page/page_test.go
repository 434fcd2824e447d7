package page

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromDir(t *testing.T) {
	dir := t.TempDir()
	get := func() string {
		rec := httptest.NewRecorder()
		FromDir("web", dir).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec.Body.String()
	}
	if !strings.Contains(get(), "<title>berth notes</title>") {
		t.Fatal("without index.html in the directory: want the built-in page")
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("edited, served by {{.Server}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "edited, served by web" {
		t.Fatalf("got %q; want the file in the directory, read again", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("broken {{.Server"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(get(), "<title>berth notes</title>") {
		t.Fatal("a broken template: want the built-in page")
	}
}
