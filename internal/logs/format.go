package logs

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// The two streams of a container, as the log file names them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxLineSize is the longest line stored in one record; longer lines are split into
// fragments of at most this many bytes, as Docker's json-file driver does (16 KiB).
const MaxLineSize = 16 << 10

// maxRecordSize bounds one record a reader accepts: a fragment of MaxLineSize bytes, all
// escaped as \u00XX, plus the fields. Longer lines are corrupt and are skipped, so a damaged
// file cannot make a reader buffer without limit.
const maxRecordSize = 6*MaxLineSize + 256

// Entry is one line of a container's output.
type Entry struct {
	Time   time.Time // when the logger received the line's first byte, UTC
	Stream string    // Stdout or Stderr
	Line   string    // without the trailing newline
}

// record is one line of the log file: a whole line (newline set) or a fragment of one.
type record struct {
	time    time.Time
	stream  string
	line    string
	newline bool
}

// appendRecord encodes one record as a JSON line. It is written by hand rather than with
// encoding/json because berth-logger runs it for every line of every container and must
// not allocate or reflect for that.
func appendRecord(dst []byte, stream string, line []byte, newline bool, t time.Time) []byte {
	dst = append(dst, `{"log":"`...)
	dst = appendEscaped(dst, line)
	if newline {
		dst = append(dst, `\n`...)
	}
	dst = append(dst, `","stream":"`...)
	dst = append(dst, stream...)
	dst = append(dst, `","time":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped writes s as the body of a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json and Docker do: JSON cannot carry arbitrary bytes.
func appendEscaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
	}
	return dst
}

// parseLine decodes one line of a log file (without its newline). It reports false for
// anything that is not a record: a torn write, a line of another format, garbage. The
// exact shape appendRecord writes is decoded by hand, being all a reader sees in practice
// and much faster; anything else goes through encoding/json.
func parseLine(b []byte) (record, bool) {
	if r, ok := parseFast(b); ok {
		return r, true
	}
	return parseSlow(b)
}

func parseSlow(b []byte) (record, bool) {
	var v struct {
		Log    *string `json:"log"`
		Stream string  `json:"stream"`
		Time   string  `json:"time"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Log == nil {
		return record{}, false
	}
	return newRecord(*v.Log, streamName([]byte(v.Stream)), v.Time)
}

// newRecord validates the decoded fields.
func newRecord(log, stream, ts string) (record, bool) {
	if stream != Stdout && stream != Stderr {
		return record{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return record{}, false
	}
	line, newline := log, false
	if n := len(log); n > 0 && log[n-1] == '\n' {
		line, newline = log[:n-1], true
	}
	return record{time: t.UTC(), stream: stream, line: line, newline: newline}, true
}

func parseFast(b []byte) (record, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"log":"`))
	if !ok {
		return record{}, false
	}
	log, rest, ok := cutString(rest)
	if !ok {
		return record{}, false
	}
	stream, rest, ok := cutField(rest, `,"stream":"`)
	if !ok {
		return record{}, false
	}
	ts, rest, ok := cutField(rest, `,"time":"`)
	if !ok || string(rest) != "}" {
		return record{}, false
	}
	return newRecord(log, streamName(stream), string(ts))
}

// streamName maps b to one of the constants without allocating; "" when it is neither.
func streamName(b []byte) string {
	switch string(b) {
	case Stdout:
		return Stdout
	case Stderr:
		return Stderr
	}
	return ""
}

// cutField cuts key and a string value without escapes; the values it is used for (stream
// names and timestamps) never need any.
func cutField(b []byte, key string) (value, rest []byte, ok bool) {
	b, ok = bytes.CutPrefix(b, []byte(key))
	if !ok {
		return nil, nil, false
	}
	for i, c := range b {
		switch {
		case c == '"':
			return b[:i], b[i+1:], true
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// cutString decodes a JSON string body up to its closing quote. It gives up (and leaves the
// line to encoding/json) on what it does not decode exactly as encoding/json would: invalid
// UTF-8 and escaped surrogates.
func cutString(b []byte) (string, []byte, bool) {
	for i, c := range b {
		switch {
		case c == '"':
			if !utf8.Valid(b[:i]) {
				return "", nil, false
			}
			return string(b[:i]), b[i+1:], true
		case c == '\\':
			return cutEscapedString(b, i)
		case c < 0x20:
			return "", nil, false
		}
	}
	return "", nil, false
}

func cutEscapedString(b []byte, i int) (string, []byte, bool) {
	out := make([]byte, i, len(b))
	copy(out, b[:i])
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", nil, false
			}
			return string(out), b[i+1:], true
		case c < 0x20:
			return "", nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return "", nil, false
		}
		var ok bool
		if out, i, ok = appendUnescaped(out, b, i); !ok {
			return "", nil, false
		}
	}
	return "", nil, false
}

// appendUnescaped decodes the escape sequence at b[i] (a backslash) and returns the index
// after it.
func appendUnescaped(out, b []byte, i int) ([]byte, int, bool) {
	switch e := b[i+1]; e {
	case '"', '\\', '/':
		return append(out, e), i + 2, true
	case 'b':
		return append(out, '\b'), i + 2, true
	case 'f':
		return append(out, '\f'), i + 2, true
	case 'n':
		return append(out, '\n'), i + 2, true
	case 'r':
		return append(out, '\r'), i + 2, true
	case 't':
		return append(out, '\t'), i + 2, true
	case 'u':
		if i+6 > len(b) {
			return nil, 0, false
		}
		var r rune
		for _, h := range b[i+2 : i+6] {
			v := bytes.IndexByte([]byte(hexDigits), lower(h))
			if v < 0 {
				return nil, 0, false
			}
			r = r<<4 | rune(v)
		}
		if utf8.RuneLen(r) < 0 { // a surrogate: pairs are encoding/json's business
			return nil, 0, false
		}
		return utf8.AppendRune(out, r), i + 6, true
	}
	return nil, 0, false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
