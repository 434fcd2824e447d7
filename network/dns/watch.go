package dns

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// watch wakes the responder as soon as a network is saved into or removed from dir, so
// that a new network's gateway is served before its first container can ask; the poll
// remains as the fallback. stop ends the watch.
func watch(dir string) (wake <-chan struct{}, stop func(), err error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, func() {}, fmt.Errorf("watch %s: %w", dir, err)
	}
	// Networks are saved by a rename and removed by an unlink.
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_DELETE); err != nil {
		unix.Close(fd)
		return nil, func() {}, fmt.Errorf("watch %s: %w", dir, err)
	}
	// Non-blocking, so os.File reads through the runtime's poller and Close ends them.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default: // a wake-up is pending already
			}
		}
	}()
	return ch, func() { f.Close() }, nil
}
