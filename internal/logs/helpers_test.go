package logs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is the time every test clock starts at.
var base = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// clock is a fake time source: each call returns the next second.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

// newTestWriter opens a writer in a fresh directory with a fake clock.
func newTestWriter(t *testing.T, opt RotateOptions) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs", "ctr.log")
	w, err := NewWriter(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: base}
	w.now = c.now
	t.Cleanup(func() { w.Close() })
	return w, path
}

func mustWrite(t *testing.T, w *Writer, stream, s string) {
	t.Helper()
	if err := w.Write(stream, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string, opt ReadOptions) []Entry {
	t.Helper()
	entries, err := Read(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// lines returns "stream:line" for each entry, to compare logs at a glance.
func lines(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Stream + ":" + e.Line
	}
	return out
}

// writeRecords writes a log file by hand: one record per line "stream:text", the i-th at
// base plus i+offset seconds.
func writeRecords(t *testing.T, name string, offset int, recs ...string) {
	t.Helper()
	var b []byte
	for i, r := range recs {
		stream, text, _ := strings.Cut(r, ":")
		b = appendRecord(b, stream, []byte(text), true, base.Add(time.Duration(offset+i)*time.Second))
	}
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// dirFiles lists the files of the log directory.
func dirFiles(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
