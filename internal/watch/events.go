package watch

import (
	"fmt"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventWatching: the watches are in place (Files counts the paths).
	EventWatching EventKind = iota
	// EventSynced: Files changes were written into the service's replicas.
	EventSynced
	// EventRestarted: the service's containers were restarted.
	EventRestarted
	// EventRebuilding: a build of the service's image begins.
	EventRebuilding
	// EventRebuilt: the build ended; Recreated tells whether the image
	// changed and the service was recreated.
	EventRebuilt
	// EventExecuted: a sync+exec command ran in every replica.
	EventExecuted
	// EventFailed: Action failed with Err; watching goes on, and the next
	// change retries.
	EventFailed
	// EventWarning: Text is a warning about the rules.
	EventWarning
)

// Event is what watch reports to its Observer; cmd renders it.
type Event struct {
	Kind      EventKind
	Service   string
	Action    Action
	Files     int
	Duration  time.Duration
	Recreated bool
	Command   []string
	Err       error
	Text      string
}

// String is the event as one line of output.
func (e Event) String() string {
	took := human(e.Duration)
	switch e.Kind {
	case EventWatching:
		return fmt.Sprintf("Watching %d %s for changes", e.Files, plural(e.Files, "path", "paths"))
	case EventSynced:
		return fmt.Sprintf("Syncing %q after %d %s (%s)", e.Service, e.Files, plural(e.Files, "change", "changes"), took)
	case EventRestarted:
		return fmt.Sprintf("Restarted %q (%s)", e.Service, took)
	case EventRebuilding:
		return fmt.Sprintf("Rebuilding %q after %d %s", e.Service, e.Files, plural(e.Files, "change", "changes"))
	case EventRebuilt:
		if e.Recreated {
			return fmt.Sprintf("Rebuilt %q: new image, service recreated (%s)", e.Service, took)
		}
		return fmt.Sprintf("Rebuilt %q: image unchanged, containers kept (%s)", e.Service, took)
	case EventExecuted:
		return fmt.Sprintf("Ran %q in %q (%s)", e.Command, e.Service, took)
	case EventFailed:
		return fmt.Sprintf("%s of %q failed: %v", e.Action, e.Service, e.Err)
	}
	return e.Text
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// human writes a duration the way the progress lines do: 41 ms, 1.2 s.
func human(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
