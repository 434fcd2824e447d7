package progress

import (
	"io"
	"strings"
	"sync"
	"time"
)

// Plain writes one line per state change, for logs and pipes where cursor
// movement would be noise. Byte updates within one status are not printed.
type Plain struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	lines map[string]*plainLine
}

type plainLine struct {
	status string
	start  time.Time
}

// NewPlain returns a renderer that prints ` ID  Status[  text][  1.2s]` lines.
func NewPlain(w io.Writer) *Plain {
	return &Plain{w: w, now: time.Now, lines: map[string]*plainLine{}}
}

// Event prints a line when the event's status differs from the last one
// printed for its ID; elapsed time is shown once the object is done.
func (p *Plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lines[e.ID]
	if !ok {
		l = &plainLine{start: p.now()}
		p.lines[e.ID] = l
	}
	if ok && l.status == e.Status {
		return
	}
	l.status = e.Status
	parts := []string{" " + e.ID, e.Status}
	if e.Text != "" {
		parts = append(parts, e.Text)
	}
	if e.Done {
		parts = append(parts, formatElapsed(p.now().Sub(l.start)))
	}
	// A failed write to the log has nowhere better to be reported.
	_, _ = io.WriteString(p.w, strings.Join(parts, "  ")+"\n")
}

// Stop does nothing: plain lines are final when written.
func (p *Plain) Stop() {}
