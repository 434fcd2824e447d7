package logs

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Merge interleaves the entries of several logs (one per container) by time. It is stable:
// entries with equal times keep the order of the arguments, and of each argument.
func Merge(streams ...[]Entry) []Entry {
	n := 0
	for _, s := range streams {
		n += len(s)
	}
	out := make([]Entry, 0, n)
	for _, s := range streams {
		out = append(out, s...)
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out
}

// rainbow is Docker Compose's cycle of prefix colors (SGR codes): cyan, yellow, green,
// magenta, blue, then the same bold.
var rainbow = []string{"36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1"}

// Prefix returns the prefix Docker Compose prints before each line of a container's log:
// the name padded to width (the length of the widest name shown) plus one, then " | ",
// e.g. "web-1  | ". With color it is wrapped in the colorIndex-th color of Compose's
// cycle, which Compose hands out to containers in the order they appear.
func Prefix(name string, width, colorIndex int, color bool) string {
	pad := max(width-utf8.RuneCountInString(name), 0) + 1
	p := name + strings.Repeat(" ", pad) + " | "
	if !color {
		return p
	}
	code := rainbow[(colorIndex%len(rainbow)+len(rainbow))%len(rainbow)]
	return "\x1b[" + code + "m" + p + "\x1b[0m"
}

// timestampLayout is Docker's RFC3339NanoFixed: `docker compose logs -t` prints times with
// all nine digits so that they line up.
const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FormatLine renders e as `berth logs` prints it, newline included: the prefix, with
// timestamps the entry's time in UTC and a space, then the line. Like Docker Compose, the
// caller writes stderr entries to its own stderr.
func FormatLine(prefix string, e Entry, timestamps bool) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(timestampLayout) + len(e.Line) + 2)
	b.WriteString(prefix)
	if timestamps {
		b.WriteString(e.Time.UTC().Format(timestampLayout))
		b.WriteByte(' ')
	}
	b.WriteString(e.Line)
	b.WriteByte('\n')
	return b.String()
}
