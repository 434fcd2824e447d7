package logs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

// readBufferSize is how much of a log file a reader takes per read call.
const readBufferSize = 64 << 10

// maxJoinedLine bounds a line the readers join from fragments; a longer one is returned in
// pieces of this size, so that a container printing without newlines cannot make
// `berth logs` hold its whole output in memory.
const maxJoinedLine = 1 << 20

// ReadOptions select entries. Since and Until are inclusive and ignored when zero. Tail
// keeps the last Tail entries that pass them: a negative Tail keeps all, 0 none (as
// `docker logs --tail 0`).
type ReadOptions struct {
	Since, Until time.Time
	Tail         int
}

// Read returns the entries of the log at path: the rotated files oldest first, then the
// current one. A log that does not exist (a container never started) has no entries.
// Corrupt lines are skipped; a record still being written is left for the next reader.
func Read(path string, opt ReadOptions) ([]Entry, error) {
	var out []Entry
	if opt.Tail == 0 {
		return out, nil
	}
	c := newCollector(opt, func(e Entry) { out = append(out, e) })
	files, err := openLog(path, nil)
	if err != nil {
		return nil, err
	}
	defer files.close()
	all := files.rotated
	if files.current != nil {
		all = append(all, files.current)
	}
	for _, f := range all {
		if _, err := newLineSource(f).drain(c.addLine); err != nil {
			return nil, fmt.Errorf("read log %s: %w", path, err)
		}
	}
	c.flush()
	c.end()
	return out, nil
}

// lineSource cuts a file that may still grow into lines, keeping an unterminated tail for
// the next drain.
type lineSource struct {
	f    *os.File
	buf  []byte
	rem  []byte // bytes after the last newline
	skip bool   // inside an overlong line: drop it up to its newline
	off  int64  // bytes read from f
}

func newLineSource(f *os.File) *lineSource {
	return &lineSource{f: f, buf: make([]byte, readBufferSize)}
}

// drain reads f to its current end and hands every complete line to fn; the slice is
// valid only during the call. It returns the number of bytes read.
func (s *lineSource) drain(fn func([]byte)) (int64, error) {
	var total int64
	for {
		n, err := s.f.Read(s.buf)
		total += int64(n)
		s.off += int64(n)
		s.split(s.buf[:n], fn)
		if err == io.EOF || (err == nil && n == 0) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (s *lineSource) split(b []byte, fn func([]byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.keep(b)
			return
		}
		switch {
		case s.skip:
			s.skip = false
		case len(s.rem) > 0:
			s.rem = append(s.rem, b[:i]...)
			fn(s.rem)
			s.rem = s.rem[:0]
		default:
			fn(b[:i])
		}
		b = b[i+1:]
	}
}

func (s *lineSource) keep(b []byte) {
	if s.skip {
		return
	}
	if len(s.rem)+len(b) > maxRecordSize {
		s.rem, s.skip = nil, true
		return
	}
	s.rem = append(s.rem, b...)
}

// reset forgets a partial line, for when the file was replaced or truncated under it.
func (s *lineSource) reset() {
	s.rem, s.skip, s.off = s.rem[:0], false, 0
}

// collector turns lines into entries: it parses them, joins fragments, applies Since and
// Until, and keeps the last Tail entries until end hands them on.
type collector struct {
	opt     ReadOptions
	emit    func(Entry)
	pending [2]*joining
	ring    []Entry // the last Tail entries, when Tail > 0
	next    int     // where the next entry goes in ring once it is full
}

// joining is a line whose fragments have not all been read yet.
type joining struct {
	time time.Time
	buf  []byte
}

func newCollector(opt ReadOptions, emit func(Entry)) *collector {
	return &collector{opt: opt, emit: emit}
}

func (c *collector) addLine(b []byte) {
	if r, ok := parseLine(b); ok {
		c.addRecord(r)
	}
}

func (c *collector) addRecord(r record) {
	i := streamIndex(r.stream)
	j := c.pending[i]
	if j == nil && r.newline {
		c.add(Entry{Time: r.time, Stream: r.stream, Line: r.line})
		return
	}
	if j == nil {
		j = &joining{time: r.time}
		c.pending[i] = j
	}
	j.buf = append(j.buf, r.line...)
	if r.newline || len(j.buf) >= maxJoinedLine {
		c.pending[i] = nil
		c.add(Entry{Time: j.time, Stream: r.stream, Line: string(j.buf)})
	}
}

// flush turns lines still being joined into entries: the stream ended without a newline,
// or the rest is not coming soon.
func (c *collector) flush() {
	for i, stream := range []string{Stdout, Stderr} {
		if j := c.pending[i]; j != nil {
			c.pending[i] = nil
			c.add(Entry{Time: j.time, Stream: stream, Line: string(j.buf)})
		}
	}
}

// joiningLines reports whether a line is being joined.
func (c *collector) joiningLines() bool {
	return c.pending[0] != nil || c.pending[1] != nil
}

func (c *collector) add(e Entry) {
	if !c.opt.Since.IsZero() && e.Time.Before(c.opt.Since) {
		return
	}
	if !c.opt.Until.IsZero() && e.Time.After(c.opt.Until) {
		return
	}
	switch {
	case c.opt.Tail < 0:
		c.emit(e)
	case len(c.ring) < c.opt.Tail:
		c.ring = append(c.ring, e)
	case c.opt.Tail > 0:
		c.ring[c.next] = e
		c.next = (c.next + 1) % len(c.ring)
	}
}

// end hands on the entries kept for Tail, oldest first; later entries go straight through.
func (c *collector) end() {
	for _, e := range c.ring[c.next:] {
		c.emit(e)
	}
	for _, e := range c.ring[:c.next] {
		c.emit(e)
	}
	c.ring, c.next, c.opt.Tail = nil, 0, -1
}
