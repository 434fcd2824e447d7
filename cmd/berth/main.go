// Command berth is a Compose-file orchestrator that drives containerd
// directly. This package only wires the command line to the libraries: it
// parses flags into option structs, renders events and picks the exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
)

func main() {
	closeInheritedOnExec()
	tuneGC(os.Args)
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

// tuneGC lets a command's heap grow before the collector runs: a command lives for
// well under a second, and at the default pace `up -d` of 10 services collected
// seven times, ≈ a tenth of its CPU. The soft limit keeps the peak where it was
// (the heap of up -d of 50 stays under it). The helper lives as long as the stacks
// and keeps the default; so does a GOGC or GOMEMLIMIT the user set.
func tuneGC(args []string) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || slices.Contains(args, "__helper") {
		return
	}
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(32 << 20)
}
