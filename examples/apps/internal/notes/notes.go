// Package notes is the example's business logic: notes kept in a kv.Store, the JSON API
// over them, and the background processing of new notes. The monolith runs all of it in
// one process; after the split the api service serves the API and the worker service
// runs Process, both against the store service.
package notes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
)

// Key layout in the store: one key per note, and one for the totals.
const (
	notePrefix = "note-"
	statsKey   = "stats"
)

// Status of a note: queued when created, done once Process has handled it.
const (
	StatusQueued = "queued"
	StatusDone   = "done"
)

// maxText bounds a note's text.
const maxText = 1000

// Note is one note as stored and as the API returns it.
type Note struct {
	ID      string    `json:"id"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
	Status  string    `json:"status"`
	// Words is counted by Process.
	Words int `json:"words,omitempty"`
}

// Stats are the totals Process keeps under the "stats" key.
type Stats struct {
	Notes int `json:"notes"`
	Words int `json:"words"`
}

// ErrInvalid marks input the client must fix.
var ErrInvalid = errors.New("invalid note")

// New returns a queued note. The ID starts with the creation time in nanoseconds, fixed
// width, so listing keys in order lists notes in order; the random suffix keeps two api
// replicas that create a note in the same nanosecond apart.
func New(text string, now time.Time) (Note, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return Note{}, fmt.Errorf("%w: text is empty", ErrInvalid)
	case len(text) > maxText:
		return Note{}, fmt.Errorf("%w: text is longer than %d bytes", ErrInvalid, maxText)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := fmt.Sprintf("%019d-%s", now.UnixNano(), hex.EncodeToString(suffix))
	return Note{ID: id, Text: text, Created: now.UTC(), Status: StatusQueued}, nil
}

// Save stores n under its key.
func Save(ctx context.Context, s kv.Store, n Note) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return s.Put(ctx, notePrefix+n.ID, data)
}

// Load returns the note with id, or an error wrapping kv.ErrNotFound.
func Load(ctx context.Context, s kv.Store, id string) (Note, error) {
	data, err := s.Get(ctx, notePrefix+id)
	if err != nil {
		return Note{}, fmt.Errorf("note %s: %w", id, err)
	}
	var n Note
	if err := json.Unmarshal(data, &n); err != nil {
		return Note{}, fmt.Errorf("note %s: %w", id, err)
	}
	return n, nil
}

// List returns every note, oldest first.
func List(ctx context.Context, s kv.Store) ([]Note, error) {
	keys, err := s.List(ctx, notePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Note, 0, len(keys))
	for _, k := range keys {
		n, err := Load(ctx, s, strings.TrimPrefix(k, notePrefix))
		if errors.Is(err, kv.ErrNotFound) {
			continue // removed between List and Get
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// LoadStats returns the totals; before the first Process they are zero.
func LoadStats(ctx context.Context, s kv.Store) (Stats, error) {
	var st Stats
	data, err := s.Get(ctx, statsKey)
	if errors.Is(err, kv.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// Process handles the queued notes (it counts their words and marks them done) and
// rewrites the totals when they changed. It returns how many notes it handled. The totals
// are recomputed from all notes, so a pass interrupted half-way is repaired by the next.
func Process(ctx context.Context, s kv.Store) (int, error) {
	all, err := List(ctx, s)
	if err != nil {
		return 0, err
	}
	var total Stats
	handled := 0
	for _, n := range all {
		if n.Status == StatusQueued {
			n.Words, n.Status = len(strings.Fields(n.Text)), StatusDone
			if err := Save(ctx, s, n); err != nil {
				return handled, err
			}
			handled++
		}
		total.Notes++
		total.Words += n.Words
	}
	old, err := LoadStats(ctx, s)
	if err != nil || old == total {
		return handled, err
	}
	data, err := json.Marshal(total)
	if err != nil {
		return handled, err
	}
	return handled, s.Put(ctx, statsKey, data)
}
