// Command kv is a test workload for berth's volume tests: a key-value store over HTTP on
// $PORT (default 8080). PUT /k/NAME stores the body, GET /k/NAME returns it; each key is a
// file under $DATA_DIR (default /data), so what survives a container's recreation is what
// the volume kept. GET /healthz is for healthchecks. It exits 0 on SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// maxValue bounds a stored value; test values are small.
const maxValue = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	store := &store{dir: envOr("DATA_DIR", "/data")}
	if err := os.MkdirAll(store.dir, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := serve(ctx, ":"+envOr("PORT", "8080"), store.routes()); err != nil {
		log.Fatal(err)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

type store struct{ dir string }

func (s *store) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /k/{name}", s.put)
	mux.HandleFunc("GET /k/{name}", s.get)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// keyPath refuses names that would leave the data directory.
func (s *store) keyPath(name string) (string, bool) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", false
	}
	return filepath.Join(s.dir, name), true
}

func (s *store) put(w http.ResponseWriter, r *http.Request) {
	p, ok := s.keyPath(r.PathValue("name"))
	if !ok {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValue))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := writeFileAtomic(p, value); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *store) get(w http.ResponseWriter, r *http.Request) {
	p, ok := s.keyPath(r.PathValue("name"))
	if !ok {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	value, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(value)
}

// writeFileAtomic syncs before the rename so that a killed container never leaves a
// half-written value for the next one to read.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// serve returns nil once ctx ends (the signal) and open requests are done.
func serve(ctx context.Context, addr string, handler http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("kv listening on %s, data in %s", addr, envOr("DATA_DIR", "/data"))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
