package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// follow runs Follow in the background and returns its entries as they come, and a
// function that stops it and returns its error.
func follow(t *testing.T, path string, opt ReadOptions) (<-chan Entry, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	entries := make(chan Entry, 1000)
	errc := make(chan error, 1)
	go func() { errc <- Follow(ctx, path, opt, func(e Entry) { entries <- e }) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(5 * time.Second):
			return fmt.Errorf("follow did not return after cancel")
		}
	})
	t.Cleanup(func() { _ = stop() })
	return entries, stop
}

// expect receives the next entries and compares their lines.
func expect(t *testing.T, entries <-chan Entry, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i, w := range want {
		select {
		case e := <-entries:
			if e.Line != w {
				t.Fatalf("entry %d = %q, want %q", i, e.Line, w)
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q (entry %d)", w, i)
		}
	}
}

func expectNothing(t *testing.T, entries <-chan Entry) {
	t.Helper()
	select {
	case e := <-entries:
		t.Fatalf("unexpected entry %+v", e)
	case <-time.After(3 * pollInterval):
	}
}

func TestFollowHistoryThenNewLines(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "old 1\nold 2\nold 3\n")
	entries, stop := follow(t, path, ReadOptions{Tail: 2})
	expect(t, entries, "old 2", "old 3")
	mustWrite(t, w, Stderr, "new 1\n")
	mustWrite(t, w, Stdout, "new 2\n")
	expect(t, entries, "new 1", "new 2")
	expectNothing(t, entries)
	if err := stop(); err != nil {
		t.Fatalf("Follow returned %v after cancel, want nil", err)
	}
}

func TestFollowSurvivesRotation(t *testing.T) {
	// Small files and five of them: a file is rotated every dozen lines and the follower
	// has four rotations of slack per poll.
	w, path := newTestWriter(t, RotateOptions{MaxSize: 1000, MaxFiles: 5})
	entries, _ := follow(t, path, ReadOptions{Tail: -1})
	var want []string
	for i := range 120 {
		line := fmt.Sprintf("line %03d", i)
		mustWrite(t, w, Stdout, line+"\n")
		want = append(want, line)
		if i%5 == 4 {
			time.Sleep(pollInterval / 4)
		}
	}
	expect(t, entries, want...)
	expectNothing(t, entries)
	if n := len(dirFiles(t, path)); n != 5 {
		t.Fatalf("%d log files, want 5: the test did not rotate enough", n)
	}
}

// startFollower opens a follower of path, to be driven poll by poll, once it has
// passed on what the log holds already; lines go to fn.
func startFollower(t *testing.T, path string, fn func(Entry)) *follower {
	t.Helper()
	fl := &follower{path: path, c: newCollector(ReadOptions{Tail: -1}, fn)}
	t.Cleanup(fl.close)
	if _, err := fl.advance(); err != nil {
		t.Fatal(err)
	}
	fl.c.end()
	return fl
}

// TestFollowerRotationsBetweenPolls drives the follower poll by poll: every line is kept
// while no more than max-file - 1 rotations happen between two polls (with max-file 1 the
// follower still holds the deleted file); beyond, lines of files deleted unseen are lost
// but what is seen stays in order, without duplicates.
func TestFollowerRotationsBetweenPolls(t *testing.T) {
	const perFile = 3
	recordSize := len(appendRecord(nil, Stdout, []byte("line 000"), true, base))
	for _, maxFiles := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("max-file=%d", maxFiles), func(t *testing.T) {
			w, path := newTestWriter(t, RotateOptions{MaxSize: int64(perFile * recordSize), MaxFiles: maxFiles})
			var got []string
			fl := startFollower(t, path, func(e Entry) { got = append(got, e.Line) })
			next := 0
			writePoll := func(n int) {
				for range n {
					mustWrite(t, w, Stdout, fmt.Sprintf("line %03d\n", next))
					next++
				}
				if err := fl.poll(); err != nil {
					t.Fatal(err)
				}
			}
			for range 5 {
				writePoll(perFile * max(maxFiles-1, 1))
			}
			if len(got) != next {
				t.Fatalf("saw %d of %d lines: %q", len(got), next, got)
			}
			for range 3 {
				writePoll(perFile * (maxFiles + 2))
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("line %q after %q: out of order or repeated", got[i], got[i-1])
				}
			}
			if last := fmt.Sprintf("line %03d", next-1); got[len(got)-1] != last {
				t.Fatalf("last line seen %q, want %q", got[len(got)-1], last)
			}
		})
	}
}

func TestFollowWaitsForLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later", "ctr.log")
	entries, _ := follow(t, path, ReadOptions{Tail: -1})
	expectNothing(t, entries)
	w, err := NewWriter(path, RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	mustWrite(t, w, Stdout, "hello\n")
	expect(t, entries, "hello")
}

func TestFollowTailZeroShowsOnlyNewLines(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "old\n")
	entries, _ := follow(t, path, ReadOptions{Tail: 0})
	expectNothing(t, entries)
	mustWrite(t, w, Stdout, "new\n")
	expect(t, entries, "new")
}

func TestFollowPassesOnUnterminatedLine(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	entries, _ := follow(t, path, ReadOptions{Tail: -1})
	mustWrite(t, w, Stdout, "last words")
	if err := w.Close(); err != nil { // the container ended without a newline
		t.Fatal(err)
	}
	expect(t, entries, "last words")
}

func TestFollowStartsOverAfterTruncation(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "before truncation, long enough to matter\n")
	entries, _ := follow(t, path, ReadOptions{Tail: -1})
	expect(t, entries, "before truncation, long enough to matter")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * pollInterval)
	mustWrite(t, w, Stdout, "after\n")
	expect(t, entries, "after")
}

func TestFollowStopsAfterUntil(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "in time\n")
	mustWrite(t, w, Stdout, "too late\n")
	var got []string
	done := make(chan error, 1)
	go func() {
		// The fake clock stamped the lines base+1s and base+2s; until has passed long ago.
		done <- Follow(t.Context(), path, ReadOptions{Tail: -1, Until: base.Add(time.Second)}, func(e Entry) { got = append(got, e.Line) })
	}()
	select {
	case err := <-done:
		if err != nil || len(got) != 1 || got[0] != "in time" {
			t.Fatalf("Follow = %v with %q; want nil and only %q", err, got, "in time")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not stop after until passed")
	}
}

// TestFollowLogRecreatedOnSameInode: a container recreated under the same name
// gets a new log at the same path, and ext4 readily gives the new file the inode
// the follower last read. The follower must read it as new: moving the very file
// away and back, rewritten, stands in for that reuse.
func TestFollowLogRecreatedOnSameInode(t *testing.T) {
	w, path := newTestWriter(t, RotateOptions{})
	mustWrite(t, w, Stdout, "message v1\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	fl := startFollower(t, path, func(e Entry) { got = append(got, e.Line) })

	away := filepath.Join(t.TempDir(), "away.log")
	if err := os.Rename(path, away); err != nil {
		t.Fatal(err)
	}
	if err := fl.poll(); err != nil { // the log is gone: the follower lets go of it
		t.Fatal(err)
	}
	record := appendRecord(nil, Stdout, []byte("message v2"), true, base.Add(time.Minute))
	if err := os.WriteFile(away, record, 0o640); err != nil { // same inode, new content
		t.Fatal(err)
	}
	if err := os.Rename(away, path); err != nil {
		t.Fatal(err)
	}
	if err := fl.poll(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"message v1", "message v2"}; !slices.Equal(got, want) {
		t.Fatalf("followed %q, want %q", got, want)
	}
}
