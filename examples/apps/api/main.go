// api is the notes JSON API; it keeps no state of its own but stores notes in the store
// service at $STORE_URL, so any number of replicas can run side by side.
package main

import (
	"log"
	"os"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
	"github.com/berth-dev/berth/examples/apps/internal/notes"
)

func main() {
	hostname, err := os.Hostname()
	if err != nil {
		log.Fatalf("api: %v", err)
	}
	storeURL := lifecycle.Env("STORE_URL", "http://store:8080")
	api := &notes.API{Store: kv.NewClient(storeURL), Hostname: hostname}
	ctx, stop := lifecycle.Context()
	defer stop()
	log.Printf("api: %s, storing notes in %s", hostname, storeURL)
	if err := lifecycle.Serve(ctx, lifecycle.Env("ADDR", ":8080"), lifecycle.AccessLog(api.Handler(), nil)); err != nil {
		log.Fatalf("api: %v", err)
	}
}
