package progress

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func pullEvents(id string) []Event {
	return []Event{
		{ID: id, Status: "Pulling"},
		{ID: id, Status: "Downloading", Current: 10, Total: 100},
		{ID: id, Status: "Downloading", Current: 50, Total: 100},
		{ID: id, Status: "Downloading", Current: 100, Total: 100},
		{ID: id, Status: "Unpacking"},
		{ID: id, Status: "Pulled", Text: "sha256:abc", Done: true},
	}
}

func TestPlainPrintsStatusChangesOnly(t *testing.T) {
	var buf bytes.Buffer
	p := NewPlain(&buf)
	for _, e := range pullEvents("Image docker.io/library/redis:7") {
		p.Event(e)
	}
	p.Event(Event{ID: "Container p-web-1", Status: "Started", Done: true})
	p.Event(Event{ID: "Container p-web-1", Status: "Error", Text: "exit 1", Done: true, Err: true})
	p.Stop()
	// Docker Compose's lines: one space, no timing
	want := ` Image docker.io/library/redis:7 Pulling
 Image docker.io/library/redis:7 Downloading
 Image docker.io/library/redis:7 Unpacking
 Image docker.io/library/redis:7 Pulled sha256:abc
 Container p-web-1 Started
 Container p-web-1 Error exit 1
`
	if got := buf.String(); got != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", got, want)
	}
}

func TestTTYDrawsFinalState(t *testing.T) {
	var buf bytes.Buffer
	tty := NewTTY(&buf)
	for _, id := range []string{"Image a:1", "Image bb:2"} {
		for _, e := range pullEvents(id) {
			tty.Event(e)
		}
	}
	tty.Event(Event{ID: "Image c:3", Status: "Pulling"})
	tty.Event(Event{ID: "Image c:3", Status: "Error", Text: "not found", Done: true, Err: true})
	tty.Stop()
	out := buf.String()
	final := out[strings.LastIndex(out, "[+]"):]
	for _, want := range []string{
		"[+] Pulling 3/3\n",
		" ✔ Image a:1   Pulled sha256:abc  ",
		" ✔ Image bb:2  Pulled sha256:abc  ",
		" ✘ Image c:3   Error not found    ",
	} {
		if !strings.Contains(final, want) {
			t.Errorf("final block lacks %q:\n%s", want, final)
		}
	}
	if !regexp.MustCompile(`\x1b\[\d+A`).MatchString(out) {
		t.Errorf("no redraw in place (cursor up) in %q", out)
	}
}

func TestTTYRateLimitsRedraws(t *testing.T) {
	var buf bytes.Buffer
	tty := NewTTY(&buf)
	for i := range 1000 {
		tty.Event(Event{ID: "Image a:1", Status: "Downloading", Current: int64(i), Total: 1000})
	}
	tty.Stop()
	// One draw for the first event, perhaps a tick, and the final draw.
	if n := strings.Count(buf.String(), "[+]"); n > 4 {
		t.Errorf("%d redraws for 1000 events in a burst, want at most 4", n)
	}
	if !strings.Contains(buf.String(), "Downloading 999B/1kB") {
		t.Errorf("final draw lacks the last byte count:\n%s", buf.String())
	}
}

func TestSinksAreSafeForConcurrentUse(t *testing.T) {
	var buf syncBuffer
	for _, d := range []Display{NewPlain(&buf), NewTTY(&buf), NewQuiet()} {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 100 {
					d.Event(Event{ID: fmt.Sprintf("Image %d", i), Status: fmt.Sprint(j % 3)})
				}
			})
		}
		wg.Wait()
		d.Stop()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestNew(t *testing.T) {
	tests := []struct {
		mode  string
		isTTY bool
		want  string
	}{
		{"auto", true, "*progress.TTY"},
		{"auto", false, "*progress.Plain"},
		{"", false, "*progress.Plain"},
		{"tty", false, "*progress.TTY"},
		{"plain", true, "*progress.Plain"},
		{"quiet", true, "progress.quiet"},
	}
	for _, tt := range tests {
		d, err := New(tt.mode, &bytes.Buffer{}, tt.isTTY)
		if err != nil {
			t.Fatalf("New(%q): %v", tt.mode, err)
		}
		if got := fmt.Sprintf("%T", d); got != tt.want {
			t.Errorf("New(%q, tty=%v) = %s, want %s", tt.mode, tt.isTTY, got, tt.want)
		}
	}
	if _, err := New("json", nil, false); err == nil ||
		err.Error() != `unknown progress mode "json": want auto, tty, plain or quiet` {
		t.Errorf("New(json) error = %v", err)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234567: "1.23MB", 5e9: "5GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
