package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// maxOpenAttempts bounds how often openLog retries when rotations keep changing the files
// under it; after that it goes on with what it has.
const maxOpenAttempts = 10

// logFiles are the open files of a log at one moment: the rotated ones (complete, oldest
// first) and the current one, nil when there is none (not created yet, or the writer is
// between its rename and its create).
type logFiles struct {
	rotated []*os.File
	current *os.File
}

func (l logFiles) close() {
	for _, f := range l.rotated {
		f.Close()
	}
	if l.current != nil {
		l.current.Close()
	}
}

// fileRef is a file of the log by name, and the file that name gave at listing time.
type fileRef struct {
	name string
	info os.FileInfo
}

// openLog opens the files of the log at path that came after the file after (all of them
// when after is nil or gone: files are deleted oldest first, so all that remain are newer).
// Rotation renames files while they are opened one by one; the listing is taken again
// afterwards and the opening repeated until both agree, so no file is skipped or read
// twice.
func openLog(path string, after os.FileInfo) (logFiles, error) {
	for attempt := 1; ; attempt++ {
		before, err := listLog(path)
		if err != nil {
			return logFiles{}, err
		}
		refs := before[successorIndex(before, after):]
		files, consistent, err := openRefs(path, refs)
		if err != nil {
			return logFiles{}, err
		}
		if consistent {
			now, err := listLog(path)
			if err != nil {
				files.close()
				return logFiles{}, err
			}
			consistent = slices.EqualFunc(before, now, func(a, b fileRef) bool { return os.SameFile(a.info, b.info) })
		}
		if consistent || attempt == maxOpenAttempts {
			return files, nil
		}
		files.close()
	}
}

func successorIndex(refs []fileRef, after os.FileInfo) int {
	if after == nil {
		return 0
	}
	for i, r := range refs {
		if os.SameFile(r.info, after) {
			return i + 1
		}
	}
	return 0
}

// openRefs opens refs; consistent is false when a name no longer gives the listed file.
func openRefs(path string, refs []fileRef) (files logFiles, consistent bool, err error) {
	consistent = true
	for _, r := range refs {
		f, err := os.Open(r.name)
		if errors.Is(err, fs.ErrNotExist) {
			consistent = false
			continue
		}
		if err != nil {
			files.close()
			return logFiles{}, false, fmt.Errorf("read log: %w", err)
		}
		if fi, err := f.Stat(); err != nil || !os.SameFile(fi, r.info) {
			consistent = false
		}
		if r.name == path {
			files.current = f
		} else {
			files.rotated = append(files.rotated, f)
		}
	}
	return files, consistent, nil
}

// listLog names the files of the log, oldest first: <path>.N descending, then path.
func listLog(path string) ([]fileRef, error) {
	indexes, err := rotatedIndexes(path)
	if err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	names := make([]string, 0, len(indexes)+1)
	for _, n := range slices.Backward(indexes) {
		names = append(names, rotatedName(path, n))
	}
	names = append(names, path)
	var refs []fileRef
	for _, name := range names {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		refs = append(refs, fileRef{name: name, info: fi})
	}
	return refs, nil
}
