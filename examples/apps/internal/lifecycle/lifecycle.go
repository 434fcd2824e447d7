// Package lifecycle is what every example app does the same way: read its settings from
// the environment, stop promptly and cleanly on SIGTERM, and serve HTTP until then.
package lifecycle

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace bounds how long in-flight requests may finish after SIGTERM; it stays
// well inside the 10 s a container gets before SIGKILL.
const shutdownGrace = 3 * time.Second

// Env returns the variable's value, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Context is cancelled by SIGTERM (what `berth stop` and `down` send) or SIGINT. A
// program that is PID 1 gets no default action for these signals: without a handler,
// every stop would wait for the SIGKILL.
func Context() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
}

// Serve serves h on addr until ctx is cancelled, then lets in-flight requests finish and
// returns nil: a stop is a normal end, and the container exits 0.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	failed := make(chan error, 1)
	go func() { failed <- srv.ListenAndServe() }()
	log.Printf("listening on %s", addr)
	select {
	case err := <-failed:
		return err
	case <-ctx.Done():
	}
	log.Printf("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// AccessLog logs one line per request, except health checks (they come every few seconds
// and would drown what `berth logs -f` is for) and those quiet accepts; quiet may be nil.
func AccessLog(h http.Handler, quiet func(r *http.Request, status int) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if quiet == nil || !quiet(r, rec.status) {
			log.Printf("%s %s %d %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Flush keeps streaming responses (the reverse proxy flushes) working through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
