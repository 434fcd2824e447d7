// worker processes new notes in the background: every $INTERVAL it counts the words of
// the queued notes in the store at $STORE_URL, marks them done and updates the totals.
package main

import (
	"context"
	"log"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
	"github.com/berth-dev/berth/examples/apps/internal/notes"
)

func main() {
	interval, err := time.ParseDuration(lifecycle.Env("INTERVAL", "2s"))
	if err != nil || interval <= 0 {
		log.Fatalf("worker: INTERVAL: want a duration like 2s")
	}
	storeURL := lifecycle.Env("STORE_URL", "http://store:8080")
	ctx, stop := lifecycle.Context()
	defer stop()
	log.Printf("worker: processing notes in %s every %s", storeURL, interval)
	run(ctx, kv.NewClient(storeURL), interval)
	log.Printf("worker: stopping")
}

// run processes until ctx ends. A failing pass is logged and retried on the next tick:
// the store may be restarting, which is no reason for the worker to die.
func run(ctx context.Context, store kv.Store, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	lastErr := ""
	for {
		n, err := notes.Process(ctx, store)
		switch {
		case err == nil:
			lastErr = ""
			if n > 0 {
				log.Printf("worker: processed %d note(s)", n)
			}
		case ctx.Err() != nil:
			// stopping: the error is the cancellation
		case err.Error() != lastErr:
			// log a failure once, not on every tick while the store is away
			log.Printf("worker: %v (retrying every %s)", err, interval)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
