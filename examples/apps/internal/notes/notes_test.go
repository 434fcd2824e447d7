package notes

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
)

func TestAPI(t *testing.T) {
	store := kv.Dir{Path: t.TempDir()}
	api := &API{Store: store, Hostname: "api-2", Now: func() time.Time { return time.Unix(1, 0) }}
	h := api.Handler()
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"create", "POST", "/api/notes", `{"text": " buy milk "}`, 201, `"text":"buy milk"`},
		{"empty text", "POST", "/api/notes", `{"text": "  "}`, 400, "text is empty"},
		{"not json", "POST", "/api/notes", `text=x`, 400, "want a JSON object"},
		{"list", "GET", "/api/notes", "", 200, `"status":"queued"`},
		{"unknown", "GET", "/api/notes/0-none", "", 404, "no such note"},
		{"bad id", "GET", "/api/notes/a%20b", "", 404, "no such note"},
		{"stats before processing", "GET", "/api/stats", "", 200, `{"notes":0,"words":0}`},
		{"health", "GET", "/healthz", "", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("%s %s: %d %s, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body, tt.status, tt.contains)
			}
			if rec.Header().Get("X-Served-By") != "api-2" {
				t.Errorf("X-Served-By = %q", rec.Header().Get("X-Served-By"))
			}
		})
	}
}

func TestProcess(t *testing.T) {
	store := kv.Dir{Path: t.TempDir()}
	ctx := t.Context()
	for i, text := range []string{"one two three", "four"} {
		n, err := New(text, time.Unix(int64(i), 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := Save(ctx, store, n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := Process(ctx, store); n != 2 || err != nil {
		t.Fatalf("first pass handled %d, %v; want 2", n, err)
	}
	if n, err := Process(ctx, store); n != 0 || err != nil {
		t.Fatalf("second pass handled %d, %v; want 0", n, err)
	}
	all, err := List(ctx, store)
	if err != nil || len(all) != 2 || all[0].Text != "one two three" || all[0].Words != 3 || all[1].Status != StatusDone {
		t.Errorf("notes after processing: %+v, %v", all, err)
	}
	st, err := LoadStats(ctx, store)
	if err != nil || st != (Stats{Notes: 2, Words: 4}) {
		t.Errorf("stats %+v, %v", st, err)
	}
}

func TestNoteIDsSortByTime(t *testing.T) {
	a, _ := New("a", time.Unix(9, 0))
	b, _ := New("b", time.Unix(10, 0))
	if a.ID >= b.ID {
		t.Errorf("IDs %q and %q do not sort in creation order", a.ID, b.ID)
	}
}
