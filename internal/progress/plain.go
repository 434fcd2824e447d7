package progress

import (
	"io"
	"strings"
	"sync"
)

// Plain writes one line per state change, for logs and pipes where cursor
// movement would be noise: ` Container p-web-1 Started`, one space between
// the fields and no timing, as Docker Compose prints them, since CI logs are
// searched for those lines. Byte updates within one status are not printed.
type Plain struct {
	mu     sync.Mutex
	w      io.Writer
	status map[string]string // the last status printed per ID
}

// NewPlain returns a renderer that prints ` ID Status[ text]` lines.
func NewPlain(w io.Writer) *Plain {
	return &Plain{w: w, status: map[string]string{}}
}

// Event prints a line when the event's status differs from the last one
// printed for its ID.
func (p *Plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.status[e.ID]; ok && last == e.Status {
		return
	}
	p.status[e.ID] = e.Status
	parts := []string{"", e.ID, e.Status}
	if e.Text != "" {
		parts = append(parts, e.Text)
	}
	// A failed write to the log has nowhere better to be reported.
	_, _ = io.WriteString(p.w, strings.Join(parts, " ")+"\n")
}

// Stop does nothing: plain lines are final when written.
func (p *Plain) Stop() {}
