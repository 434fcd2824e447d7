package logs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []string{
		"",
		"plain text",
		`quotes " and \ backslashes`,
		"tab\tcarriage\rbell\x07nul\x00esc\x1b[31m",
		"unicode: héllo wörld ✓ 🚀",
		"html <b>&amp;</b> and \u2028",
		"\x7f delete",
	}
	at := time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 7200))
	for _, line := range tests {
		for _, newline := range []bool{true, false} {
			b := appendRecord(nil, Stderr, []byte(line), newline, at)
			if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Count(b, []byte("\n")) != 1 {
				t.Fatalf("record of %q is not one line: %q", line, b)
			}
			// What we write must be what Docker's tools, i.e. encoding/json, read.
			var v struct{ Log, Stream, Time string }
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("record of %q is not JSON: %v: %s", line, err, b)
			}
			want := record{time: at.UTC(), stream: Stderr, line: line, newline: newline}
			got, ok := parseFast(bytes.TrimSuffix(b, []byte("\n")))
			if !ok || got != want {
				t.Errorf("parseFast(%s) = %+v, %v; want %+v", b, got, ok, want)
			}
			if v.Time != "2024-05-01T08:00:00.123456789Z" {
				t.Errorf("time field = %q, want RFC3339Nano in UTC", v.Time)
			}
		}
	}
}

func TestRecordReplacesInvalidUTF8(t *testing.T) {
	b := appendRecord(nil, Stdout, []byte("bad \xff\xfe byte"), true, base)
	r, ok := parseLine(bytes.TrimSuffix(b, []byte("\n")))
	if !ok || r.line != "bad \ufffd\ufffd byte" {
		t.Fatalf("parseLine = %q, %v; want U+FFFD for each invalid byte", r.line, ok)
	}
}

func TestParseLineAcceptsOtherJSONShapes(t *testing.T) {
	tests := map[string]record{
		// Docker's own json-file lines, fields in another order, escaped slash.
		`{"stream":"stdout","log":"a\/b\n","time":"2024-05-01T10:00:00.5Z"}`:             {stream: Stdout, line: "a/b", newline: true, time: base.Add(500 * time.Millisecond)},
		`{"log":"x", "stream":"stderr", "time":"2024-05-01T12:00:00+02:00", "attrs":{}}`: {stream: Stderr, line: "x", time: base},
		`{"log":"\ud83d\ude80","stream":"stdout","time":"2024-05-01T10:00:00Z"}`:         {stream: Stdout, line: "🚀", time: base},
	}
	for line, want := range tests {
		if got, ok := parseLine([]byte(line)); !ok || got != want {
			t.Errorf("parseLine(%s) = %+v, %v; want %+v", line, got, ok, want)
		}
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, line := range []string{
		``,
		`{}`,
		`{"log":"x","stream":"stdout"}`,
		`{"log":"x","stream":"stdin","time":"2024-05-01T10:00:00Z"}`,
		`{"log":"x","stream":"stdout","time":"2024-05-01"}`,
		`{"log":5,"stream":"stdout","time":"2024-05-01T10:00:00Z"}`,
		`{"log":"x","stream":"stdout","time":"2024-05-01T10:00:00Z"`,
		`{"log":"x","stream":"stdout","time":"2024-05-01T10:00:00Z"}}`,
		`{"log":"raw` + "\t" + `tab","stream":"stdout","time":"2024-05-01T10:00:00Z"}`,
	} {
		if r, ok := parseLine([]byte(line)); ok {
			t.Errorf("parseLine(%q) = %+v, want rejected", line, r)
		}
	}
}

// FuzzParseLine checks that no input makes the parser panic, that the hand-written fast
// path never disagrees with encoding/json, and that records survive a write-read trip.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123Z"}`))
	f.Add([]byte(`{"log":"esc \" \\ \/ \b\f\n\r\t \u00e9 \u0000 \ud83d\ude80","stream":"stderr","time":"2024-05-01T10:00:00Z"}`))
	f.Add([]byte(`{"log":"\xff","stream":"stdout","time":"2024-05-01T10:00:00Z"}`))
	f.Add([]byte(`{"log":"x","stream":"stdout","time":"2024-05-01T10:00:00Z"} `))
	f.Add([]byte(`{"log":"\u12","stream":"stdout","time":"2024-05-01T10:00:00Z"}`))
	f.Add([]byte("garbage\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseLine(b)
		if fast, fastOK := parseFast(b); fastOK {
			slow, slowOK := parseSlow(b)
			if !slowOK || slow != fast {
				t.Fatalf("fast path %+v, encoding/json %+v (ok %v) for %q", fast, slow, slowOK, b)
			}
		}
		if ok && (got.stream != Stdout && got.stream != Stderr || !utf8.ValidString(got.line)) {
			t.Fatalf("parseLine accepted a bad record %+v from %q", got, b)
		}
		// Whatever bytes a container prints come back (invalid UTF-8 as U+FFFD).
		rec := appendRecord(nil, Stdout, b, true, base)
		back, ok := parseFast(bytes.TrimSuffix(rec, []byte("\n")))
		if want := validRunes(b); !ok || !back.newline || back.line != want {
			t.Fatalf("round trip of %q gave %q (ok %v), want %q", b, back.line, ok, want)
		}
	})
}

// validRunes replaces each invalid byte with U+FFFD, as encoding/json does
// (strings.ToValidUTF8 would merge runs of them).
func validRunes(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[size:]
	}
	return sb.String()
}
