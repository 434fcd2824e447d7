package kv

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestValidKey(t *testing.T) {
	for _, tt := range []struct {
		key string
		ok  bool
	}{
		{"note-1", true},
		{"stats", true},
		{"a.b_c-D9", true},
		{"", false},
		{".hidden", false},
		{"a/b", false},
		{"..", false},
		{"sp ace", false},
		{string(make([]byte, 129)), false},
	} {
		if err := ValidKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("ValidKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}

// The store service and the monolith must agree on this format: it is what lets the
// split services take over the monolith's volume.
func TestDirFormatIsOneFilePerKey(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	if err := d.Put(t.Context(), "note-1", []byte(`{"text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(d.Path, "note-1"))
	if err != nil || string(data) != `{"text":"hi"}` {
		t.Fatalf("file note-1 holds %q, %v", data, err)
	}
	if err := d.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(d.Path)
	if len(entries) != 1 {
		t.Errorf("directory holds %v: temporary and probe files must not stay", entries)
	}
}

// Client against Handler against Dir: the store service end to end.
func TestClientHandlerRoundTrip(t *testing.T) {
	srv := httptest.NewServer(Handler(Dir{Path: t.TempDir()}))
	defer srv.Close()
	c := NewClient(srv.URL + "/")
	ctx := t.Context()
	for _, k := range []string{"note-2", "note-1", "stats"} {
		if err := c.Put(ctx, k, []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.Get(ctx, "note-1"); err != nil || string(v) != "v-note-1" {
		t.Errorf("Get = %q, %v", v, err)
	}
	if _, err := c.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
	}
	if keys, err := c.List(ctx, "note-"); err != nil || !slices.Equal(keys, []string{"note-1", "note-2"}) {
		t.Errorf("List = %v, %v", keys, err)
	}
	if err := c.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := c.Put(ctx, "../escape", nil); err == nil {
		t.Error("Put accepted ../escape")
	}
}
