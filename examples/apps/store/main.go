// store is a tiny HTTP key-value store: each key is a file under $DATA_DIR (/data, a named
// volume in the examples), so the data outlives the container.
//
//	PUT /k/NAME, GET /k/NAME, GET /k/?prefix=P, GET /healthz
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
)

func main() {
	dir := kv.Dir{Path: lifecycle.Env("DATA_DIR", "/data")}
	if err := os.MkdirAll(dir.Path, 0o755); err != nil {
		log.Fatalf("store: %v", err)
	}
	ctx, stop := lifecycle.Context()
	defer stop()
	log.Printf("store: keeping data in %s", dir.Path)
	if err := lifecycle.Serve(ctx, lifecycle.Env("ADDR", ":8080"), lifecycle.AccessLog(kv.Handler(dir), successfulRead)); err != nil {
		log.Fatalf("store: %v", err)
	}
}

// successfulRead keeps reads that worked out of the log: the worker polls every few
// seconds, and the writes are what tells the story.
func successfulRead(r *http.Request, status int) bool {
	return r.Method == http.MethodGet && status < http.StatusInternalServerError
}
