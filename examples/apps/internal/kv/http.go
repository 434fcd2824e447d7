package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxValue bounds a value: the examples store notes, not files.
const maxValue = 1 << 20

// Handler serves a Store over HTTP:
//
//	PUT /k/NAME         store the request body under NAME
//	GET /k/NAME         the value, or 404
//	GET /k/?prefix=P    the keys starting with P, as a JSON array
//	GET /healthz        200 when the storage is writable, 503 otherwise
func Handler(s Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /k/{$}", func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.List(r.Context(), r.URL.Query().Get("prefix"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(keys)
	})
	mux.HandleFunc("GET /k/{key}", func(w http.ResponseWriter, r *http.Request) {
		value, err := s.Get(r.Context(), r.PathValue("key"))
		if err != nil {
			http.Error(w, err.Error(), statusOf(err))
			return
		}
		_, _ = w.Write(value)
	})
	mux.HandleFunc("PUT /k/{key}", func(w http.ResponseWriter, r *http.Request) {
		value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValue))
		if err == nil {
			err = s.Put(r.Context(), r.PathValue("key"), value)
		}
		if err != nil {
			http.Error(w, err.Error(), statusOf(err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Check(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func statusOf(err error) int {
	var tooBig *http.MaxBytesError
	var badKey *KeyError
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &badKey):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// Client is a Store on the other side of Handler, at URL ("http://store:8080").
type Client struct {
	URL  string
	HTTP *http.Client
}

// NewClient returns a Client whose requests give up after a few seconds: a store that
// hangs must turn into an error the caller can report, not a hung request.
func NewClient(baseURL string) *Client {
	return &Client{URL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Timeout: 5 * time.Second}}
}

// Get returns the value of key, or ErrNotFound.
func (c *Client) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodGet, "/k/"+key, nil)
}

// Put stores value under key.
func (c *Client) Put(ctx context.Context, key string, value []byte) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	_, err := c.do(ctx, http.MethodPut, "/k/"+key, value)
	return err
}

// List returns the keys starting with prefix, sorted.
func (c *Client) List(ctx context.Context, prefix string) ([]string, error) {
	body, err := c.do(ctx, http.MethodGet, "/k/?prefix="+url.QueryEscape(prefix), nil)
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := json.Unmarshal(body, &keys); err != nil {
		return nil, fmt.Errorf("store %s: list: %w", c.URL, err)
	}
	return keys, nil
}

// Check asks the store for its health.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil)
	return err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxValue+1))
	if err != nil {
		return nil, fmt.Errorf("store: %s %s: %w", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, ErrNotFound
	case resp.StatusCode >= 300:
		return nil, fmt.Errorf("store: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	return data, nil
}
