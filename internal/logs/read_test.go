package logs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// rotatedLog writes a log of three files, eight lines a second apart:
// ctr.log.2 (a0 a1), ctr.log.1 (b2 b3 b4), ctr.log (c5 c6 c7).
func rotatedLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctr.log")
	writeRecords(t, path+".2", 0, "stdout:a0", "stderr:a1")
	writeRecords(t, path+".1", 2, "stdout:b2", "stdout:b3", "stderr:b4")
	writeRecords(t, path, 5, "stdout:c5", "stderr:c6", "stdout:c7")
	return path
}

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func TestRead(t *testing.T) {
	path := rotatedLog(t)
	tests := []struct {
		name string
		opt  ReadOptions
		want []string
	}{
		{"all", ReadOptions{Tail: -1}, []string{"a0", "a1", "b2", "b3", "b4", "c5", "c6", "c7"}},
		{"tail 0", ReadOptions{Tail: 0}, nil},
		{"tail 4 spans files", ReadOptions{Tail: 4}, []string{"b4", "c5", "c6", "c7"}},
		{"tail beyond all", ReadOptions{Tail: 100}, []string{"a0", "a1", "b2", "b3", "b4", "c5", "c6", "c7"}},
		{"since inclusive", ReadOptions{Tail: -1, Since: at(3)}, []string{"b3", "b4", "c5", "c6", "c7"}},
		{"until inclusive", ReadOptions{Tail: -1, Until: at(2)}, []string{"a0", "a1", "b2"}},
		{"since and until", ReadOptions{Tail: -1, Since: at(1), Until: at(5)}, []string{"a1", "b2", "b3", "b4", "c5"}},
		{"tail after filters", ReadOptions{Tail: 2, Until: at(4)}, []string{"b3", "b4"}},
		{"since after all", ReadOptions{Tail: -1, Since: at(60)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range mustRead(t, path, tt.opt) {
				got = append(got, e.Line)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadEntryFields(t *testing.T) {
	got := mustRead(t, rotatedLog(t), ReadOptions{Tail: 2})
	want := []Entry{{Time: at(6), Stream: Stderr, Line: "c6"}, {Time: at(7), Stream: Stdout, Line: "c7"}}
	if !slices.Equal(got, want) {
		t.Fatalf("entries = %+v, want %+v", got, want)
	}
}

func TestReadMissingLog(t *testing.T) {
	got, err := Read(filepath.Join(t.TempDir(), "none", "ctr.log"), ReadOptions{Tail: -1})
	if err != nil || len(got) != 0 {
		t.Fatalf("Read of a missing log = %v, %v; want no entries, no error", got, err)
	}
}

func TestReadOnlyRotatedFiles(t *testing.T) {
	path := rotatedLog(t)
	// Between the writer's rename and its create, only rotated files exist.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, path, ReadOptions{Tail: 1}); len(got) != 1 || got[0].Line != "b4" {
		t.Fatalf("entries = %+v, want b4", got)
	}
}

func TestReadSkipsCorruptLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	var b []byte
	b = appendRecord(b, Stdout, []byte("good 1"), true, at(1))
	b = append(b, "not json\n"...)
	b = append(b, `{"log":"no stream","time":"2024-05-01T10:00:00Z"}`+"\n"...)
	b = append(b, `{"log":"bad time","stream":"stdout","time":"yesterday"}`+"\n"...)
	b = append(b, "\n\x00\xff\n"...)
	b = appendRecord(b, Stderr, []byte("good 2"), true, at(2))
	b = append(b, `{"log":"being writ`...) // a record still being written
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got := lines(mustRead(t, path, ReadOptions{Tail: -1}))
	if want := []string{"stdout:good 1", "stderr:good 2"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
}

func TestReadJoinsFragmentsAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctr.log")
	var old, cur []byte
	old = appendRecord(old, Stdout, []byte("first half, "), false, at(1))
	cur = appendRecord(cur, Stderr, []byte("meanwhile"), true, at(2))
	cur = appendRecord(cur, Stdout, []byte("second half"), true, at(3))
	if err := os.WriteFile(path+".1", old, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, cur, 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, path, ReadOptions{Tail: -1})
	want := []Entry{{Time: at(2), Stream: Stderr, Line: "meanwhile"}, {Time: at(1), Stream: Stdout, Line: "first half, second half"}}
	if !slices.Equal(got, want) {
		t.Fatalf("entries = %+v, want %+v", got, want)
	}
}

func TestReadIgnoresOtherFiles(t *testing.T) {
	path := rotatedLog(t)
	for _, name := range []string{"ctr.log.x", "ctr.log.01", "ctr.log.", "other.log.1"} {
		writeRecords(t, filepath.Join(filepath.Dir(path), name), 0, "stdout:stray")
	}
	if got := mustRead(t, path, ReadOptions{Tail: -1}); len(got) != 8 {
		t.Fatalf("read %d entries, want the log's 8: %q", len(got), lines(got))
	}
}
