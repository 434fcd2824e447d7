package logs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// flushSize is how many encoded bytes the writer collects before it writes them: a read
// of short lines encodes to several times its size, and buffering all of it would grow
// the logger's heap with every burst.
const flushSize = 32 << 10

// maxKeptBuffer is the largest encode buffer the writer keeps between writes; only a
// fragment full of escaped control characters grows it beyond.
const maxKeptBuffer = 64 << 10

// Writer stores the output of one container as records in a log file, rotating it. It is
// safe for concurrent use: berth-logger writes stdout and stderr from two goroutines.
type Writer struct {
	mu      sync.Mutex
	path    string
	opt     RotateOptions
	f       *os.File // nil after a failed reopen; the next write retries
	size    int64    // bytes in f
	torn    bool     // the last write to f stopped mid-record
	buf     []byte   // records encoded, not yet written
	pending [2]pendingLine
	now     func() time.Time
	closed  bool
}

// pendingLine is the start of a line whose newline has not arrived yet.
type pendingLine struct {
	buf   []byte
	since time.Time // when its first byte arrived: the line's time
}

// NewWriter opens (or creates, 0600 in a 0700 directory) the log file at path for
// appending, rotated as opt says.
func NewWriter(path string, opt RotateOptions) (*Writer, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	w := &Writer{path: path, opt: opt, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	if err := os.MkdirAll(filepath.Dir(w.path), 0o700); err != nil {
		return fmt.Errorf("open log %s: %w", w.path, err)
	}
	// Read access only for endsWithNewline; every write appends.
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	w.f, w.size = f, fi.Size()
	// A previous logger may have died mid-record: start on a line of our own.
	w.torn = w.size > 0 && !endsWithNewline(f, w.size)
	return nil
}

func endsWithNewline(f *os.File, size int64) bool {
	var b [1]byte
	_, err := f.ReadAt(b[:], size-1)
	return err == nil && b[0] == '\n'
}

// Write stores p, the next bytes of stream (Stdout or Stderr). Complete lines become
// records at once; the rest waits for its newline, or is stored as a fragment once it
// reaches MaxLineSize. An error means records were lost; later writes try again.
func (w *Writer) Write(stream string, p []byte) error {
	idx := streamIndex(stream)
	if idx < 0 {
		return fmt.Errorf("write log %s: unknown stream %q", w.path, stream)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("write log %s: %w", w.path, os.ErrClosed)
	}
	now := w.now()
	pl := &w.pending[idx]
	var errs []error
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		if nl >= 0 && nl <= MaxLineSize && len(pl.buf) == 0 {
			errs = appendErr(errs, w.emit(stream, p[:nl], true, now))
			p = p[nl+1:]
			continue
		}
		if len(pl.buf) == 0 {
			pl.since = now
		}
		end := len(p)
		if nl >= 0 {
			end = nl
		}
		take := min(end, MaxLineSize-len(pl.buf))
		pl.buf = append(pl.buf, p[:take]...)
		p = p[take:]
		switch {
		case take == end && nl >= 0:
			errs = appendErr(errs, w.emit(stream, pl.buf, true, pl.since))
			pl.buf = pl.buf[:0]
			p = p[1:]
		case len(pl.buf) == MaxLineSize:
			errs = appendErr(errs, w.emitFragment(stream, pl, now))
		}
	}
	errs = appendErr(errs, w.flush())
	return errors.Join(errs...)
}

// appendErr collects err unless it is nil: Write runs per read of a pipe, and growing a
// slice of nils would allocate on every line.
func appendErr(errs []error, err error) []error {
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// emitFragment stores a full pending line as a fragment. A UTF-8 sequence cut at its end
// moves on to the next fragment rather than turning into two U+FFFD.
func (w *Writer) emitFragment(stream string, pl *pendingLine, now time.Time) error {
	cut := runeCut(pl.buf)
	err := w.emit(stream, pl.buf[:cut], false, pl.since)
	pl.buf = pl.buf[:copy(pl.buf, pl.buf[cut:])]
	pl.since = now
	return err
}

// runeCut returns len(b), or less when b ends inside a UTF-8 sequence.
func runeCut(b []byte) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) && k < len(b) {
				return len(b) - k
			}
			break
		}
	}
	return len(b)
}

func streamIndex(stream string) int {
	switch stream {
	case Stdout:
		return 0
	case Stderr:
		return 1
	}
	return -1
}

// emit encodes one record. When it would take the current file beyond MaxSize, what came
// before is written and the file rotated first, so that no record straddles two files.
func (w *Writer) emit(stream string, line []byte, newline bool, t time.Time) error {
	start := len(w.buf)
	w.buf = appendRecord(w.buf, stream, line, newline, t)
	if w.size+int64(len(w.buf)) <= w.opt.MaxSize || w.size+int64(start) == 0 {
		if len(w.buf) >= flushSize {
			return w.flush()
		}
		return nil
	}
	err := w.write(w.buf[:start])
	w.buf = w.buf[:copy(w.buf, w.buf[start:])]
	return errors.Join(err, w.rotate())
}

// flush writes the encoded records; on failure they are dropped, so that a full disk
// never makes the logger hold a container's output in memory.
func (w *Writer) flush() error {
	err := w.write(w.buf)
	w.buf = w.buf[:0]
	if cap(w.buf) > maxKeptBuffer {
		w.buf = nil
	}
	return err
}

func (w *Writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if w.torn {
		// The torn record becomes a corrupt line readers skip, not the head of ours.
		if _, err := w.f.Write([]byte{'\n'}); err != nil {
			return fmt.Errorf("write log %s: %w", w.path, err)
		}
		w.size++
		w.torn = false
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err != nil {
		w.torn = n > 0
		return fmt.Errorf("write log %s: %w", w.path, err)
	}
	return nil
}

// Close stores what is left of unterminated lines as final fragments and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	for i, stream := range []string{Stdout, Stderr} {
		if pl := &w.pending[i]; len(pl.buf) > 0 {
			errs = append(errs, w.emit(stream, pl.buf, false, pl.since))
			pl.buf = nil
		}
	}
	errs = append(errs, w.flush())
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log %s: %w", w.path, err))
		}
		w.f = nil
	}
	return errors.Join(errs...)
}
