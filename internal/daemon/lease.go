package daemon

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Lease is a helper process's hold on its data root's helper lock. It implements
// network/dns's Lease: Ready writes the pid file that Ensure waits for, and Release and
// Reacquire let the responder exit when idle without losing a network that a starter
// created at that very moment.
type Lease struct {
	f  files
	mu sync.Mutex
	fl *flock.Flock // nil while released
}

// Acquire takes the data root's helper lock for this process. It fails with an error
// naming the holder when another helper holds it.
func Acquire(dataRoot string) (*Lease, error) {
	f, err := filesOf(dataRoot)
	if err != nil {
		return nil, fmt.Errorf("hold helper lock: %w", err)
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, fmt.Errorf("hold helper lock: %w", err)
	}
	l := &Lease{f: f}
	if err := l.take(); err != nil {
		return nil, err
	}
	// A pid file here was left by a helper that was killed.
	_ = os.Remove(f.pid)
	return l, nil
}

// Hold takes the helper lock and reports ready at once: for a helper that needs no
// time to start serving. One that does uses Acquire and Lease.Ready (dns.Serve calls
// it once it serves). release lets go of the lock and removes the pid file.
func Hold(dataRoot string) (release func(), err error) {
	l, err := Acquire(dataRoot)
	if err != nil {
		return nil, err
	}
	if err := l.Ready(); err != nil {
		l.Release()
		return nil, err
	}
	return l.Release, nil
}

// take tries the lock for up to holdRetry: a prober (Status, Ensure) may hold it for
// an instant.
func (l *Lease) take() error {
	fl := flock.New(l.f.lock)
	deadline := time.Now().Add(holdRetry)
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return fmt.Errorf("hold helper lock %s: %w", l.f.lock, err)
		}
		if ok {
			l.mu.Lock()
			l.fl = fl
			l.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hold helper lock %s: another berth helper (pid %d) holds it", l.f.lock, l.f.readPID())
		}
		time.Sleep(pollEvery)
	}
}

// Ready writes the pid file, which tells Ensure that the helper serves.
func (l *Lease) Ready() error {
	return atomicfile.WriteFile(l.f.pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// Release removes the pid file and lets go of the lock. It is idempotent.
func (l *Lease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fl == nil {
		return
	}
	if l.f.readPID() == os.Getpid() {
		_ = os.Remove(l.f.pid)
	}
	_ = l.fl.Unlock()
	l.fl = nil
}

// Reacquire takes the lock again after Release and reports ready; it fails when
// another helper took it meanwhile.
func (l *Lease) Reacquire() error {
	if err := l.take(); err != nil {
		return err
	}
	return l.Ready()
}
