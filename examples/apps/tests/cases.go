package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// readyTimeout is how long the first test waits for the API: with depends_on
// service_healthy it answers at once, but `berth run tests` alone may start first.
const readyTimeout = 30 * time.Second

// suite is what the tests share: the API's address, and the note one test creates and
// the next ones read back.
type suite struct {
	base   string
	client *http.Client
	noteID string
	text   string
}

type note struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Status string `json:"status"`
}

func allCases() []testCase {
	return []testCase{
		{"the API is healthy", apiHealthy},
		{"POST /api/notes creates a note", createNote},
		{"GET /api/notes/{id} returns the note", readNote},
		{"GET /api/notes lists the note", listNotes},
		{"an empty note is refused with 400", refuseEmpty},
		{"a body that is not JSON is refused with 400", refuseMalformed},
		{"an unknown note is 404", unknownNote},
		{"responses name the replica in X-Served-By", servedBy},
	}
}

func apiHealthy(ctx context.Context, s *suite) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		status, body, err := s.do(ctx, http.MethodGet, "/healthz", "")
		if err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not healthy after %s: status %d, %s, %v", readyTimeout, status, strings.TrimSpace(body), err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func createNote(ctx context.Context, s *suite) error {
	s.text = "integration test " + randomWord()
	status, body, err := s.do(ctx, http.MethodPost, "/api/notes", fmt.Sprintf(`{"text": %q}`, s.text))
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("status %d, want 201: %s", status, body)
	}
	var n note
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return fmt.Errorf("response %q: %v", body, err)
	}
	if n.ID == "" || n.Text != s.text || n.Status != "queued" {
		return fmt.Errorf("created %+v, want a queued note with text %q", n, s.text)
	}
	s.noteID = n.ID
	return nil
}

func readNote(ctx context.Context, s *suite) error {
	if s.noteID == "" {
		return fmt.Errorf("no note was created")
	}
	status, body, err := s.do(ctx, http.MethodGet, "/api/notes/"+s.noteID, "")
	if err != nil {
		return err
	}
	var n note
	if status != http.StatusOK || json.Unmarshal([]byte(body), &n) != nil || n.Text != s.text {
		return fmt.Errorf("status %d, body %s; want the note %q", status, strings.TrimSpace(body), s.text)
	}
	return nil
}

func listNotes(ctx context.Context, s *suite) error {
	status, body, err := s.do(ctx, http.MethodGet, "/api/notes", "")
	if err != nil {
		return err
	}
	var all []note
	if status != http.StatusOK || json.Unmarshal([]byte(body), &all) != nil {
		return fmt.Errorf("status %d, body %s; want a JSON array", status, strings.TrimSpace(body))
	}
	for _, n := range all {
		if n.ID == s.noteID && s.noteID != "" {
			return nil
		}
	}
	return fmt.Errorf("note %q missing from the %d listed", s.noteID, len(all))
}

func refuseEmpty(ctx context.Context, s *suite) error {
	return wantStatus(ctx, s, http.MethodPost, "/api/notes", `{"text": "   "}`, http.StatusBadRequest)
}

func refuseMalformed(ctx context.Context, s *suite) error {
	return wantStatus(ctx, s, http.MethodPost, "/api/notes", `text=hello`, http.StatusBadRequest)
}

func unknownNote(ctx context.Context, s *suite) error {
	return wantStatus(ctx, s, http.MethodGet, "/api/notes/0-nothing", "", http.StatusNotFound)
}

func servedBy(ctx context.Context, s *suite) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/stats", nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.Header.Get("X-Served-By") == "" {
		return fmt.Errorf("no X-Served-By header in %v", resp.Header)
	}
	return nil
}

func wantStatus(ctx context.Context, s *suite, method, path, body string, want int) error {
	status, got, err := s.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, status, want, strings.TrimSpace(got))
	}
	return nil
}

// do sends a request and returns the status and the body.
func (s *suite) do(ctx context.Context, method, path, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(data), err
}

func randomWord() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
