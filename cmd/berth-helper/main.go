// Command berth-helper is berth's helper process (internal/helper.Serve): DNS on the
// networks' gateways, restart policies and health checks, one per data root and
// namespace, started by berth on demand and gone once no network is left. It is
// built on its own so that it links no Compose loader, builder or CLI: it starts in a
// few milliseconds and stays small while stacks run.
//
//	berth-helper --data-root /var/lib/berth --namespace berth --address /run/containerd/containerd.sock
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/berth-dev/berth/internal/helper"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("berth-helper", flag.ContinueOnError)
	dataRoot := fs.String("data-root", "/var/lib/berth", "berth's data root")
	namespace := fs.String("namespace", "berth", "containerd namespace")
	address := fs.String("address", "/run/containerd/containerd.sock", "containerd's socket")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "berth-helper: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := helper.Serve(ctx, helper.Config{Root: filepath.Join(*dataRoot, *namespace), Address: *address, Namespace: *namespace}); err != nil {
		fmt.Fprintf(os.Stderr, "berth-helper: %v\n", err)
		return 1
	}
	return 0
}
