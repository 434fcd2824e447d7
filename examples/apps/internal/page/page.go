// Package page is the notes web page, the same in the monolith and in the web service:
// static HTML whose script talks to /api/notes on the server that delivered it.
package page

import (
	_ "embed"
	"html/template"
	"log"
	"net/http"
	"os"
	"path/filepath"
)

//go:embed index.html
var source string

var index = template.Must(template.New("index").Parse(source))

// Handler serves the page at / and 404 for anything else it is given; server names who
// serves it ("web", "monolith"), so the page shows which architecture is running.
func Handler(server string) http.Handler {
	return FromDir(server, "")
}

// FromDir is Handler, reading dir/index.html again on every request when dir is set and
// the file is there (the page compiled in otherwise): `berth watch` syncs an edited page
// into the container and the next reload shows it, without a rebuild.
func FromDir(server, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = load(dir).Execute(w, struct{ Server string }{server})
	})
}

func load(dir string) *template.Template {
	if dir == "" {
		return index
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return index
	}
	t, err := template.New("index").Parse(string(b))
	if err != nil {
		log.Printf("page: %s/index.html: %v; serving the built-in page", dir, err)
		return index
	}
	return t
}
