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
// rotation: it reads a renamed file to its end, then the files that came after it, so no
// line is lost as long as max-file keeps them until the next poll (every 150 ms). It waits
// for a log that does not exist yet. fn runs on the caller's goroutine.
func Follow(ctx context.Context, path string, opt ReadOptions, fn func(Entry)) error {
	fl := &follower{path: path, c: newCollector(opt, fn)}
	defer fl.close()
	if _, err := fl.advance(); err != nil {
		return err
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
	c    *collector
	src  *lineSource // the current file; nil when there is none
	last os.FileInfo // the file src reads, or else the last file read to its end
}

func (fl *follower) close() {
	if fl.src != nil {
		fl.src.f.Close()
	}
}

// poll reads what was appended and turns to the next files after a rotation. A line being
// joined that got no new fragment for a whole interval is passed on as it is: its stream
// may have ended without a newline.
func (fl *follower) poll() error {
	var n int64
	if fl.src != nil {
		read, err := fl.src.drain(fl.c.addLine)
		if err != nil {
			return fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		n = read
	}
	current, err := fl.stillCurrent()
	if err != nil {
		return err
	}
	switched := false
	if !current {
		if switched, err = fl.advance(); err != nil {
			return err
		}
	}
	if n == 0 && !switched && fl.c.joiningLines() {
		fl.c.flush()
	}
	return nil
}

// stillCurrent reports whether path still names the file being read, starting that file
// over if it shrank: berth never truncates, but a person clearing a log with
// `truncate -s 0` should not stop the follower.
func (fl *follower) stillCurrent() (bool, error) {
	if fl.src == nil {
		return false, nil
	}
	st, err := os.Stat(fl.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("follow log: %w", err)
	}
	cur, err := fl.src.f.Stat()
	if err != nil {
		return false, fmt.Errorf("follow log %s: %w", fl.path, err)
	}
	if !os.SameFile(st, cur) {
		return false, nil
	}
	if cur.Size() < fl.src.off {
		if _, err := fl.src.f.Seek(0, io.SeekStart); err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		fl.src.reset()
	}
	return true, nil
}

// advance reads the file being read to its end (the writer renames a file only once it is
// done with it), then the files that came after it; the newest, if current, stays open.
// It reports whether it found any.
func (fl *follower) advance() (bool, error) {
	if fl.src != nil {
		_, err := fl.src.drain(fl.c.addLine)
		fl.src.f.Close()
		fl.src = nil
		if err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
	}
	files, err := openLog(fl.path, fl.last)
	if err != nil {
		return false, err
	}
	if len(files.rotated) == 0 && files.current == nil {
		// The log is gone (its container removed, or a max-file 1 rotation between
		// its delete and create): whatever file comes next is new, even when the
		// filesystem hands it the inode of the file last read.
		fl.last = nil
	}
	for i, f := range files.rotated {
		if err := fl.readRotated(f); err != nil {
			logFiles{rotated: files.rotated[i+1:], current: files.current}.close()
			return false, err
		}
	}
	if files.current != nil {
		fl.src = newLineSource(files.current)
		if fl.last, err = files.current.Stat(); err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
		if _, err := fl.src.drain(fl.c.addLine); err != nil {
			return false, fmt.Errorf("follow log %s: %w", fl.path, err)
		}
	}
	return len(files.rotated) > 0 || files.current != nil, nil
}

func (fl *follower) readRotated(f *os.File) error {
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("follow log %s: %w", fl.path, err)
	}
	if _, err := newLineSource(f).drain(fl.c.addLine); err != nil {
		return fmt.Errorf("follow log %s: %w", fl.path, err)
	}
	fl.last = fi
	return nil
}
