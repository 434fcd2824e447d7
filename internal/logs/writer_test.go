package logs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWriterTagsStreamsAndTimes(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "one\ntwo\n")
	mustWrite(t, w, Stderr, "oops\n")
	mustWrite(t, w, Stdout, "\n")
	got := mustRead(t, path, ReadOptions{Tail: -1})
	want := []string{"stdout:one", "stdout:two", "stderr:oops", "stdout:"}
	if !slices.Equal(lines(got), want) {
		t.Fatalf("entries = %q, want %q", lines(got), want)
	}
	// Lines of one write share its time; every write is a tick of the fake clock.
	for i, sec := range []int{1, 1, 2, 3} {
		if want := base.Add(time.Duration(sec) * time.Second); !got[i].Time.Equal(want) {
			t.Errorf("entry %d time = %v, want %v", i, got[i].Time, want)
		}
	}
}

func TestWriterFileModes(t *testing.T) {
	_, path := newTestWriter(t, RotateOptions{})
	for name, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode(), want)
		}
	}
}

func TestWriterJoinsLineAcrossWrites(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "hel")
	mustWrite(t, w, Stderr, "err\n") // the other stream goes on meanwhile
	mustWrite(t, w, Stdout, "lo\nnext")
	mustWrite(t, w, Stdout, "\n")
	got := mustRead(t, path, ReadOptions{Tail: -1})
	want := []string{"stderr:err", "stdout:hello", "stdout:next"}
	if !slices.Equal(lines(got), want) {
		t.Fatalf("entries = %q, want %q", lines(got), want)
	}
	// A line has the time its first byte arrived.
	if want := base.Add(time.Second); !got[1].Time.Equal(want) {
		t.Errorf("joined line time = %v, want %v", got[1].Time, want)
	}
}

func TestWriterSplitsLongLines(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	// 'é' straddles the 16 KiB boundary: it must not be cut in two.
	long := strings.Repeat("a", MaxLineSize-1) + "é" + strings.Repeat("b", MaxLineSize+100)
	mustWrite(t, w, Stdout, long[:1000])
	mustWrite(t, w, Stdout, long[1000:]+"\nshort\n")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(recs) != 4 {
		t.Fatalf("file has %d records, want 3 fragments and a line:\n%s", len(recs), raw)
	}
	var joined string
	for i, b := range recs[:3] {
		r, ok := parseLine(b)
		if !ok {
			t.Fatalf("record %d does not parse", i)
		}
		if len(r.line) > MaxLineSize || !utf8.ValidString(r.line) || r.newline != (i == 2) {
			t.Errorf("record %d: %d bytes, valid UTF-8 %v, newline %v", i, len(r.line), utf8.ValidString(r.line), r.newline)
		}
		joined += r.line
	}
	if joined != long {
		t.Errorf("fragments do not add up to the line")
	}
	got := mustRead(t, path, ReadOptions{Tail: -1})
	if len(got) != 2 || got[0].Line != long || got[1].Line != "short" {
		t.Errorf("Read returned %d entries, want the long line joined and %q", len(got), "short")
	}
}

func TestWriterCloseStoresUnterminatedLines(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "done\nprompt> ")
	mustWrite(t, w, Stderr, "half")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := lines(mustRead(t, path, ReadOptions{Tail: -1}))
	want := []string{"stdout:done", "stdout:prompt> ", "stderr:half"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
	if err := w.Write(Stdout, []byte("late\n")); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestWriterRejectsUnknownStream(t *testing.T) {
	w, _ := newTestWriter(t, RotateOptions{})
	if err := w.Write("stdin", []byte("x\n")); err == nil {
		t.Fatal("write to stream stdin succeeded")
	}
}

func TestWriterRotation(t *testing.T) {
	for _, maxFiles := range []int{1, 2, 3} {
		t.Run("max-file="+strconv.Itoa(maxFiles), func(t *testing.T) {
			opt := RotateOptions{MaxSize: 1000, MaxFiles: maxFiles}
			w, path := newTestWriter(t, opt)
			for i := range 200 {
				mustWrite(t, w, []string{Stdout, Stderr}[i%2], "line "+strconv.Itoa(i)+"\n")
			}
			assertRotated(t, path, opt)
			got := mustRead(t, path, ReadOptions{Tail: -1})
			if len(got) == 0 || got[len(got)-1].Line != "line 199" {
				t.Fatalf("last entry is not line 199: %q", lines(got))
			}
			// What is kept is an unbroken run of the newest lines.
			first, _ := strconv.Atoi(strings.TrimPrefix(got[0].Line, "line "))
			for i, e := range got {
				if want := "line " + strconv.Itoa(first+i); e.Line != want {
					t.Fatalf("entry %d = %q, want %q", i, e.Line, want)
				}
			}
		})
	}
}

// assertRotated checks there are at most MaxFiles files, each within MaxSize and made of
// whole records only.
func assertRotated(t *testing.T, path string, opt RotateOptions) {
	t.Helper()
	names := dirFiles(t, path)
	want := []string{"ctr.log", "ctr.log.1", "ctr.log.2"}[:opt.MaxFiles]
	if !slices.Equal(names, want) {
		t.Fatalf("files = %q, want %q", names, want)
	}
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), name))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(raw)) > opt.MaxSize {
			t.Errorf("%s has %d bytes, more than max-size %d", name, len(raw), opt.MaxSize)
		}
		for i, rec := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
			if _, ok := parseLine(rec); !ok {
				t.Errorf("%s line %d is not a whole record: %q", name, i+1, rec)
			}
		}
	}
}

func TestWriterRotationRemovesStaleFiles(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{MaxSize: 200, MaxFiles: 2})
	// Left by an earlier run with a larger max-file.
	for _, n := range []string{"1", "2", "7"} {
		writeRecords(t, path+"."+n, 0, "stdout:old "+n)
	}
	for i := range 10 {
		mustWrite(t, w, Stdout, "line "+strconv.Itoa(i)+"\n")
	}
	if names := dirFiles(t, path); !slices.Equal(names, []string{"ctr.log", "ctr.log.1"}) {
		t.Fatalf("files = %q, want ctr.log and ctr.log.1", names)
	}
}

func TestWriterRecordLargerThanMaxSize(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{MaxSize: 50, MaxFiles: 2})
	mustWrite(t, w, Stdout, "small\n")
	mustWrite(t, w, Stdout, strings.Repeat("x", 100)+"\n")
	mustWrite(t, w, Stdout, "after\n")
	got := lines(mustRead(t, path, ReadOptions{Tail: -1}))
	want := []string{"stdout:" + strings.Repeat("x", 100), "stdout:after"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
}

func TestWriterAppendsAfterTornRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	writeRecords(t, path, 0, "stdout:before")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A logger killed mid-write leaves half a record.
	if _, err := f.WriteString(`{"log":"torn`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, err := NewWriter(path, RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, Stdout, "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := lines(mustRead(t, path, ReadOptions{Tail: -1}))
	if want := []string{"stdout:before", "stdout:after"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
}

func TestNewWriterRejectsNegativeOptions(t *testing.T) {
	if _, err := NewWriter(filepath.Join(t.TempDir(), "ctr.log"), RotateOptions{MaxSize: -1}); err == nil {
		t.Fatal("NewWriter accepted max-size -1")
	}
}

// BenchmarkWriterWrite measures the logger's hot path; it must not allocate per line.
func BenchmarkWriterWrite(b *testing.B) {
	w, err := NewWriter(filepath.Join(b.TempDir(), "ctr.log"), RotateOptions{MaxSize: 1 << 20, MaxFiles: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	chunk := []byte(strings.Repeat("GET /index.html 200 0.003s \"curl/8.0\" partial\n", 80))
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(Stdout, chunk); err != nil {
			b.Fatal(err)
		}
	}
}
