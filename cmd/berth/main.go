// Command berth is a Compose-file orchestrator that drives containerd
// directly. This package only wires the command line to the libraries: it
// parses flags into option structs, renders events and picks the exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	closeInheritedOnExec()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// closeInheritedOnExec keeps the descriptors berth inherited (beyond stdin, stdout and
// stderr) from the daemons it starts: berth's helper and buildkitd outlive the command,
// and would otherwise hold them for good — a `flock LOCK berth up -d` would leave the
// lock held by the helper after berth exits.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
