// monolith is v1 of the notes application: the page, the API, the storage and the
// background processing in one process. It keeps its data under $DATA_DIR in the store
// service's format (kv.Dir), so the split services of v2 take over its volume unchanged.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
	"github.com/berth-dev/berth/examples/apps/internal/notes"
	"github.com/berth-dev/berth/examples/apps/internal/page"
)

// processEvery is how often the in-process worker looks for new notes.
const processEvery = 2 * time.Second

func main() {
	hostname, err := os.Hostname()
	if err != nil {
		log.Fatalf("monolith: %v", err)
	}
	store := kv.Dir{Path: lifecycle.Env("DATA_DIR", "/data")}
	if err := os.MkdirAll(store.Path, 0o755); err != nil {
		log.Fatalf("monolith: %v", err)
	}
	api := &notes.API{Store: store, Hostname: hostname}
	mux := http.NewServeMux()
	mux.Handle("/", page.Handler("monolith"))
	mux.Handle("/api/", api.Handler())
	mux.Handle("GET /healthz", api.Handler())
	ctx, stop := lifecycle.Context()
	defer stop()
	go process(ctx, store)
	log.Printf("monolith: keeping data in %s", store.Path)
	if err := lifecycle.Serve(ctx, lifecycle.Env("ADDR", ":80"), lifecycle.AccessLog(mux, nil)); err != nil {
		log.Fatalf("monolith: %v", err)
	}
}

// process is the part that became the worker service in v2.
func process(ctx context.Context, store kv.Store) {
	ticker := time.NewTicker(processEvery)
	defer ticker.Stop()
	for {
		if n, err := notes.Process(ctx, store); err != nil && ctx.Err() == nil {
			log.Printf("monolith: process notes: %v", err)
		} else if n > 0 {
			log.Printf("monolith: processed %d note(s)", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
