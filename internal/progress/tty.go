package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// redrawInterval caps redraws at about ten a second: a pull reports bytes far
// more often than a person can read them, and each redraw rewrites the block.
const redrawInterval = 100 * time.Millisecond

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// TTY redraws a block of lines in place, one per object, under a
// "[+] Pulling 2/3" header, the way Docker Compose does on a terminal.
type TTY struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	lines   []*ttyLine
	byID    map[string]*ttyLine
	drawn   int // lines written by the last draw, to move the cursor back over
	last    time.Time
	frame   int
	ticking bool
	stopped bool
	quit    chan struct{}
	exited  chan struct{}
}

type ttyLine struct {
	ev    Event
	start time.Time
	end   time.Time
}

// NewTTY returns a renderer that draws with ANSI cursor moves. Call Stop when
// the operation ends to draw the final state and end the redraw loop.
func NewTTY(w io.Writer) *TTY {
	return &TTY{
		w:      w,
		now:    time.Now,
		byID:   map[string]*ttyLine{},
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// Event records the new state of a line. Drawing happens at most every
// redrawInterval; the ticker keeps spinners and elapsed times moving.
func (t *TTY) Event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	l, ok := t.byID[e.ID]
	if !ok {
		l = &ttyLine{start: now}
		t.byID[e.ID] = l
		t.lines = append(t.lines, l)
	}
	l.ev = e
	if e.Done && l.end.IsZero() {
		l.end = now
	}
	if t.stopped {
		t.draw()
		return
	}
	if !t.ticking {
		t.ticking = true
		go t.tick()
	}
	if now.Sub(t.last) >= redrawInterval {
		t.draw()
	}
}

func (t *TTY) tick() {
	defer close(t.exited)
	ticker := time.NewTicker(redrawInterval)
	defer ticker.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-ticker.C:
			t.mu.Lock()
			t.frame++
			t.draw()
			t.mu.Unlock()
		}
	}
}

// Stop ends the redraw loop and draws the final state once. Later events are
// drawn immediately.
func (t *TTY) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	ticking := t.ticking
	t.mu.Unlock()
	if ticking {
		close(t.quit)
		<-t.exited
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) > 0 {
		t.draw()
	}
}

// draw rewrites the whole block; the caller holds t.mu.
func (t *TTY) draw() {
	now := t.now()
	t.last = now
	var b strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", t.drawn)
	}
	idWidth, statusWidth, done := 0, 0, 0
	for _, l := range t.lines {
		idWidth = max(idWidth, len([]rune(l.ev.ID)))
		statusWidth = max(statusWidth, len([]rune(statusText(l.ev))))
		if l.ev.Done {
			done++
		}
	}
	fmt.Fprintf(&b, "\x1b[2K[+] %s %d/%d\n", title(t.lines), done, len(t.lines))
	for _, l := range t.lines {
		end := now
		if !l.end.IsZero() {
			end = l.end
		}
		fmt.Fprintf(&b, "\x1b[2K %s %s  %s  %s\n", t.icon(l.ev), pad(l.ev.ID, idWidth),
			pad(statusText(l.ev), statusWidth), formatElapsed(end.Sub(l.start)))
	}
	t.drawn = len(t.lines) + 1
	_, _ = io.WriteString(t.w, b.String())
}

func (t *TTY) icon(e Event) string {
	switch {
	case e.Err:
		return "✘"
	case e.Done:
		return "✔"
	}
	return spinner[t.frame%len(spinner)]
}

func statusText(e Event) string {
	if d := detail(e); d != "" {
		return e.Status + " " + d
	}
	return e.Status
}

// title names the operation in the header: a block of images only is a pull,
// anything else (containers, networks) is a run.
func title(lines []*ttyLine) string {
	for _, l := range lines {
		if !strings.HasPrefix(l.ev.ID, "Image ") {
			return "Running"
		}
	}
	return "Pulling"
}

func pad(s string, width int) string {
	if n := len([]rune(s)); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
