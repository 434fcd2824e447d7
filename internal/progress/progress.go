// Package progress owns berth's progress events and the renderers that turn
// them into terminal output. Library packages emit events through a Sink;
// only cmd chooses and stops a renderer.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Event reports the state of one object (an image, a container, a network)
// at one moment. Renderers key their lines by ID.
type Event struct {
	ID      string // e.g. "Image docker.io/library/redis:7" or "Container p-web-1"
	Status  string // e.g. "Pulling", "Downloading", "Pulled", "Creating", "Started", "Error"
	Text    string // detail shown after the status
	Current int64  // bytes (or units) done so far, when known
	Total   int64  // bytes (or units) expected, 0 when unknown
	Done    bool   // the object reached its final state
	Err     bool   // the final state is a failure
}

// Sink receives events. Implementations must be safe for concurrent use:
// pulls and container operations run in parallel.
type Sink interface {
	Event(Event)
}

// Display is a Sink that owns terminal output and must be stopped once the
// operation ends, so that it can draw its final state.
type Display interface {
	Sink
	Stop()
}

// Modes accepted by New, as given to --progress.
const (
	ModeAuto  = "auto"
	ModeTTY   = "tty"
	ModePlain = "plain"
	ModeQuiet = "quiet"
)

// New returns the renderer for a --progress mode. "auto" (or "") draws in
// place on a terminal and falls back to plain lines elsewhere, such as CI logs.
func New(mode string, w io.Writer, isTTY bool) (Display, error) {
	switch mode {
	case ModeAuto, "":
		if isTTY {
			return NewTTY(w), nil
		}
		return NewPlain(w), nil
	case ModeTTY:
		return NewTTY(w), nil
	case ModePlain:
		return NewPlain(w), nil
	case ModeQuiet:
		return NewQuiet(), nil
	}
	return nil, fmt.Errorf("unknown progress mode %q: want auto, tty, plain or quiet", mode)
}

// Or returns s, or a Sink that drops everything when s is nil, so that
// library code can always emit without checking.
func Or(s Sink) Sink {
	if s == nil {
		return quiet{}
	}
	return s
}

// NewQuiet returns a Display that drops every event.
func NewQuiet() Display { return quiet{} }

type quiet struct{}

func (quiet) Event(Event) {}
func (quiet) Stop()       {}

// HumanSize formats a byte count the way docker does (decimal units).
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	f := float64(n) / unit
	i := 0
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

func formatElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// detail is the text shown after the status: the event's own text, or its
// byte counts while a transfer is under way.
func detail(e Event) string {
	if e.Text != "" {
		return e.Text
	}
	if e.Total > 0 && !e.Done {
		return HumanSize(e.Current) + "/" + HumanSize(e.Total)
	}
	return ""
}
