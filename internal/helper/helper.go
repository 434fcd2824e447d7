// Package helper is berth's helper process (berth-helper, or `berth __helper` where
// berth-helper is not installed): DNS on the networks' gateways, restart policies and
// health checks, one per data root and namespace, started on demand (Process) and run
// by Serve. The engine sees it through a two-method interface.
package helper

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/network/dns"
)

// Process is the helper of one state root.
type Process struct {
	// Root is the namespace's state directory (data root/namespace).
	Root string
	// Argv starts the helper: berth-helper with berth's global flags (or berth
	// itself with them and `__helper`).
	Argv []string
	// ArgvErr says why there is no Argv; Ensure fails with it.
	ArgvErr error
}

// Ensure starts the helper when it is not running and waits until it serves the
// networks.
func (p Process) Ensure(ctx context.Context, networks ...string) error {
	if p.ArgvErr != nil {
		return p.ArgvErr
	}
	if _, _, err := daemon.Ensure(ctx, p.Root, p.Argv); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return dns.WaitServed(wctx, p.Root, networks...)
}

// Preflight says whether the helper can be started.
func (p Process) Preflight() error { return p.ArgvErr }

// Stop stops the helper and removes its state: it has nothing left to serve.
func (p Process) Stop(context.Context) error {
	if err := daemon.Stop(p.Root); err != nil {
		return err
	}
	for _, dir := range []string{"helper", "dns"} {
		if err := os.RemoveAll(filepath.Join(p.Root, dir)); err != nil {
			return err
		}
	}
	return nil
}
