// Package page is the notes web page, the same in the monolith and in the web service:
// static HTML whose script talks to /api/notes on the server that delivered it.
package page

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed index.html
var source string

var index = template.Must(template.New("index").Parse(source))

// Handler serves the page at / and 404 for anything else it is given; server names who
// serves it ("web", "monolith"), so the page shows which architecture is running.
func Handler(server string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = index.Execute(w, struct{ Server string }{server})
	})
}
