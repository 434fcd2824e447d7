package kubetest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// logStore holds the containers' output the fake kubelet serves, by
// "namespace/pod/container". A follower is woken by closing changed, which every write
// replaces.
type logStore struct {
	mu      sync.Mutex
	lines   map[string][]logLine
	closed  map[string]bool
	changed chan struct{}
}

type logLine struct {
	at   time.Time
	text string
}

func newLogStore() *logStore {
	return &logStore{lines: map[string][]logLine{}, closed: map[string]bool{}, changed: make(chan struct{})}
}

func logKey(namespace, pod, container string) string {
	return namespace + "/" + pod + "/" + container
}

// WriteLog appends lines to what the container of the pod printed: `kubectl logs` and
// berth's `kube logs` read them through the API server, and followers see them at once.
func (c *Cluster) WriteLog(namespace, pod, container string, lines ...string) {
	c.kubelet.logs.write(logKey(namespace, pod, container), lines)
}

func (s *logStore) write(key string, lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, l := range lines {
		s.lines[key] = append(s.lines[key], logLine{at: now, text: l})
	}
	s.notifyLocked()
}

// closePod ends the follow streams of a pod's containers, as the kubelet does when
// they exit.
func (s *logStore) closePod(namespace, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := namespace + "/" + pod + "/"
	for key := range s.lines {
		if strings.HasPrefix(key, prefix) {
			s.closed[key] = true
		}
	}
	s.closed[prefix] = true
	s.notifyLocked()
}

func (s *logStore) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed[""] = true
	s.notifyLocked()
}

func (s *logStore) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// since returns the lines of key from index from, whether the stream has ended, and
// the channel closed by the next change.
func (s *logStore) since(key string, from int) ([]logLine, bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.lines[key]
	var out []logLine
	if from < len(all) {
		out = all[from:]
	}
	podPrefix := key[:strings.LastIndex(key, "/")+1]
	ended := s.closed[key] || s.closed[podPrefix] || s.closed[""]
	return out, ended, s.changed
}

// serve answers the kubelet's /containerLogs/{namespace}/{pod}/{container} with the
// query parameters the API server passes on: follow, tailLines, timestamps, sinceTime
// and sinceSeconds.
func (s *logStore) serve(w http.ResponseWriter, r *http.Request) {
	key := logKey(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"))
	q := r.URL.Query()
	follow, _ := strconv.ParseBool(q.Get("follow"))
	timestamps, _ := strconv.ParseBool(q.Get("timestamps"))
	since, err := sinceParam(q.Get("sinceTime"), q.Get("sinceSeconds"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lines, ended, changed := s.since(key, 0)
	next := len(lines)
	lines = filterSince(lines, since)
	if tail, err := strconv.Atoi(q.Get("tailLines")); err == nil && tail >= 0 && tail < len(lines) {
		lines = lines[len(lines)-tail:]
	}
	w.Header().Set("Content-Type", "text/plain")
	flusher, _ := w.(http.Flusher)
	for {
		for _, l := range lines {
			if timestamps {
				fmt.Fprintf(w, "%s %s\n", l.at.UTC().Format(time.RFC3339Nano), l.text)
			} else {
				fmt.Fprintln(w, l.text)
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !follow || ended {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		}
		lines, ended, changed = s.since(key, next)
		next += len(lines)
	}
}

func sinceParam(sinceTime, sinceSeconds string) (time.Time, error) {
	if sinceTime != "" {
		return time.Parse(time.RFC3339, sinceTime)
	}
	if sinceSeconds != "" {
		n, err := strconv.Atoi(sinceSeconds)
		if err != nil {
			return time.Time{}, fmt.Errorf("sinceSeconds: %w", err)
		}
		return time.Now().Add(-time.Duration(n) * time.Second), nil
	}
	return time.Time{}, nil
}

func filterSince(lines []logLine, since time.Time) []logLine {
	if since.IsZero() {
		return lines
	}
	for i, l := range lines {
		if !l.at.Before(since) {
			return lines[i:]
		}
	}
	return nil
}
