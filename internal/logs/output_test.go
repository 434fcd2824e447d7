package logs

import (
	"slices"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	web := []Entry{{Time: at(1), Line: "web 1"}, {Time: at(3), Line: "web 3"}, {Time: at(5), Line: "web 5"}}
	db := []Entry{{Time: at(2), Line: "db 2"}, {Time: at(3), Line: "db 3"}, {Time: at(6), Line: "db 6"}}
	cache := []Entry{{Time: at(3), Line: "cache 3"}}
	var got []string
	for _, e := range Merge(web, nil, db, cache) {
		got = append(got, e.Line)
	}
	// Equal times keep the argument order.
	want := []string{"web 1", "db 2", "web 3", "db 3", "cache 3", "web 5", "db 6"}
	if !slices.Equal(got, want) {
		t.Fatalf("Merge = %q, want %q", got, want)
	}
	if len(Merge()) != 0 {
		t.Fatal("Merge of nothing is not empty")
	}
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		name       string
		width      int
		colorIndex int
		color      bool
		want       string
	}{
		{"web-1", 5, 0, false, "web-1  | "},
		{"db-1", 5, 0, false, "db-1   | "},
		{"web-1", 3, 0, false, "web-1  | "},               // width too small: the name wins
		{"wéb-1", 5, 0, false, "wéb-1  | "},               // padding counts runes
		{"web-1", 5, 0, true, "\x1b[36mweb-1  | \x1b[0m"}, // cyan
		{"web-1", 5, 1, true, "\x1b[33mweb-1  | \x1b[0m"}, // yellow
		{"web-1", 5, 5, true, "\x1b[36;1mweb-1  | \x1b[0m"},
		{"web-1", 5, 10, true, "\x1b[36mweb-1  | \x1b[0m"}, // the cycle starts over
		{"web-1", 5, -1, true, "\x1b[34;1mweb-1  | \x1b[0m"},
	}
	for _, tt := range tests {
		if got := Prefix(tt.name, tt.width, tt.colorIndex, tt.color); got != tt.want {
			t.Errorf("Prefix(%q, %d, %d, %v) = %q, want %q", tt.name, tt.width, tt.colorIndex, tt.color, got, tt.want)
		}
	}
}

func TestFormatLine(t *testing.T) {
	e := Entry{Time: time.Date(2024, 5, 1, 12, 0, 0, 120000000, time.FixedZone("CEST", 7200)), Stream: Stdout, Line: "hello"}
	if got, want := FormatLine("web-1  | ", e, false), "web-1  | hello\n"; got != want {
		t.Errorf("FormatLine = %q, want %q", got, want)
	}
	if got, want := FormatLine("web-1  | ", e, true), "web-1  | 2024-05-01T10:00:00.120000000Z hello\n"; got != want {
		t.Errorf("FormatLine with timestamps = %q, want %q", got, want)
	}
	if got, want := FormatLine("", Entry{Time: base}, true), "2024-05-01T10:00:00.000000000Z \n"; got != want {
		t.Errorf("FormatLine without prefix = %q, want %q", got, want)
	}
}
