// Command berth is a Compose-file orchestrator that drives containerd
// directly. This package only wires the command line to the libraries: it
// parses flags into option structs, renders events and picks the exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
