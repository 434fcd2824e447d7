package notes

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
)

// maxBody bounds a request body: a note is short.
const maxBody = 16 << 10

// API serves the notes as JSON:
//
//	GET  /api/notes        every note, oldest first
//	POST /api/notes        {"text": "..."} creates a note: 201 and the note
//	GET  /api/notes/{id}   one note, or 404
//	GET  /api/stats        the totals the worker keeps
//	GET  /healthz          200 when the store answers, 503 otherwise
//
// Every response carries X-Served-By with the host name, which berth sets to the container
// name: with several replicas it tells which one answered.
type API struct {
	Store    kv.Store
	Hostname string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler returns the API's routes.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/notes", a.list)
	mux.HandleFunc("POST /api/notes", a.create)
	mux.HandleFunc("GET /api/notes/{id}", a.get)
	mux.HandleFunc("GET /api/stats", a.stats)
	mux.HandleFunc("GET /healthz", a.health)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", a.Hostname)
		mux.ServeHTTP(w, r)
	})
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	all, err := List(r.Context(), a.Store)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, all)
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &in) != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{`want a JSON object like {"text": "buy milk"}`})
		return
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	n, err := New(in.Text, now())
	if err == nil {
		err = Save(r.Context(), a.Store, n)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/api/notes/"+n.ID)
	writeJSON(w, http.StatusCreated, n)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	n, err := Load(r.Context(), a.Store, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	st, err := LoadStats(r.Context(), a.Store)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.Check(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type errorBody struct {
	Error string `json:"error"`
}

// writeError maps errors to statuses: the client's mistakes are 4xx, a failing store 502.
func writeError(w http.ResponseWriter, err error) {
	var badKey *kv.KeyError
	switch {
	case errors.Is(err, ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
	case errors.Is(err, kv.ErrNotFound), errors.As(err, &badKey):
		writeJSON(w, http.StatusNotFound, errorBody{"no such note"})
	default:
		writeJSON(w, http.StatusBadGateway, errorBody{err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
