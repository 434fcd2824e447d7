package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// pollInterval is how often Follow looks for new lines: fast enough for a person watching,
// cheap enough for many followed containers.
const pollInterval = 150 * time.Millisecond

// Follow calls fn with the entries Read would return, then with every entry appended to
// the log later, until ctx is done (it then returns nil) or Until has passed. It survives
// rotation: it reads a renamed file to its end before it turns to the new one, and waits
// for a log that does not exist yet. fn runs on the caller's goroutine.
func Follow(ctx context.Context, path string, opt ReadOptions, fn func(Entry)) error {
	fl := &follower{path: path, c: newCollector(opt, fn)}
	defer fl.close()
	cur, err := openCurrent(path)
	if err != nil {
		return err
	}
	if err := readRotated(path, cur, fl.c.addLine); err != nil {
		return err
	}
	if cur != nil {
		fl.src = newLineSource(cur)
		if _, err := fl.src.drain(fl.c.addLine); err != nil {
			return fmt.Errorf("follow log %s: %w", path, err)
		}
	}
	fl.c.end()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if err := fl.poll(); err != nil {
			return err
		}
		if !opt.Until.IsZero() && time.Now().After(opt.Until) {
			fl.c.flush()
			return nil
		}
	}
}

type follower struct {
	path string
	src  *lineSource // nil while the log does not exist
	c    *collector
}

func (fl *follower) close() {
	if fl.src != nil {
		fl.src.f.Close()
	}
}

// poll reads what was appended, then checks whether the file was rotated (the path names
// another file, or none) or truncated. A line being joined that got no new fragment for a
// whole interval is passed on as it is: its stream may have ended without a newline.
func (fl *follower) poll() error {
	var n int64
	if fl.src != nil {
		read, err := fl.src.drain(fl.c.addLine)
		if err != nil {
			return fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		n = read
	}
	switched, err := fl.reopen()
	if err != nil {
		return err
	}
	if n == 0 && !switched && fl.c.joiningLines() {
		fl.c.flush()
	}
	return nil
}

// reopen turns to the file now at path when it differs from the one being read, after
// reading the old one to its end: the writer renames a file only once it is done with it.
func (fl *follower) reopen() (bool, error) {
	st, err := os.Stat(fl.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // between rename and create, or not started yet
	}
	if err != nil {
		return false, fmt.Errorf("follow log: %w", err)
	}
	if fl.src != nil {
		cur, err := fl.src.f.Stat()
		if err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		if os.SameFile(st, cur) {
			return false, fl.checkTruncated(cur)
		}
		if _, err := fl.src.drain(fl.c.addLine); err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		fl.src.f.Close()
		fl.src = nil
	}
	f, err := openCurrent(fl.path)
	if err != nil || f == nil {
		return false, err
	}
	fl.src = newLineSource(f)
	if _, err := fl.src.drain(fl.c.addLine); err != nil {
		return true, fmt.Errorf("follow log %s: %w", fl.path, err)
	}
	return true, nil
}

// checkTruncated starts over when the file shrank under the reader: berth never truncates,
// but a person clearing a log with `truncate -s 0` should not stop the follower.
func (fl *follower) checkTruncated(cur os.FileInfo) error {
	if cur.Size() >= fl.src.off {
		return nil
	}
	if _, err := fl.src.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("follow log %s: %w", fl.path, err)
	}
	fl.src.reset()
	return nil
}
