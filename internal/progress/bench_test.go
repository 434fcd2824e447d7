package progress

import (
	"fmt"
	"io"
	"testing"
)

// benchEvents is what up of n services emits: network and container lines going
// through Creating, Created, Starting and Started.
func benchEvents(n int) []Event {
	events := []Event{{ID: "Network p_default", Status: "Creating"}, {ID: "Network p_default", Status: "Created", Done: true}}
	for _, status := range []string{"Creating", "Created", "Starting", "Started"} {
		for i := 1; i <= n; i++ {
			events = append(events, Event{ID: fmt.Sprintf("Container p-s%d-1", i), Status: status, Done: status == "Started"})
		}
	}
	return events
}

func BenchmarkPlain50(b *testing.B) {
	events := benchEvents(50)
	for b.Loop() {
		p := NewPlain(io.Discard)
		for _, e := range events {
			p.Event(e)
		}
		p.Stop()
	}
}

// BenchmarkTTY50 includes the final draw of Stop; redraws in between are rate limited.
func BenchmarkTTY50(b *testing.B) {
	events := benchEvents(50)
	for b.Loop() {
		t := NewTTY(io.Discard)
		for _, e := range events {
			t.Event(e)
		}
		t.Stop()
	}
}

// BenchmarkTTYDraw50 is one full redraw of 50 lines, what the ticker pays each interval.
func BenchmarkTTYDraw50(b *testing.B) {
	t := NewTTY(io.Discard)
	for _, e := range benchEvents(50) {
		t.Event(e)
	}
	defer t.Stop()
	for b.Loop() {
		t.mu.Lock()
		t.draw()
		t.mu.Unlock()
	}
}
