package helper

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/companion"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/service/runstate"
	"github.com/berth-dev/berth/service/supervise"
)

// IdleExit is how long the helper stays once no berth network is left.
const IdleExit = 30 * time.Second

// Config is what the helper process serves: one namespace's state root, through one
// containerd.
type Config struct {
	// Root is the namespace's state directory (data root/namespace).
	Root      string
	Address   string
	Namespace string
	// Logf receives what the helper has to say (it has no terminal); nil writes
	// it to standard error, which the helper's starter points at its log file.
	Logf func(format string, args ...any)
}

// Serve is the helper process, as podman's aardvark-dns is: DNS on the networks'
// gateways, and restart policies and health checks for the namespace's containers,
// until no network has been left for IdleExit or ctx ends. It links no Compose
// loader: containers are read from their labels and state files.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logf == nil {
		cfg.Logf = log.New(os.Stderr, "berth-helper: ", log.LstdFlags).Printf
	}
	lease, err := daemon.Acquire(cfg.Root)
	if err != nil {
		return err
	}
	defer lease.Release()
	client, err := ctrd.Connect(ctx, ctrd.Options{Address: cfg.Address, Namespace: cfg.Namespace})
	if err != nil {
		return err
	}
	defer client.Close()
	// restarting a container needs the logger: without one, supervision's starts fail
	// with the reason and DNS still runs
	logger, loggerErr := companion.Logger()
	store := runstate.Store{DataRoot: cfg.Root, Runtime: client, Logger: logger, LoggerErr: loggerErr}
	// restart policies and health checks live as long as DNS does
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if err := supervise.Run(ctx, supervise.StoreHost{Store: store, Runtime: client}, supervise.FilesOf(store)); err != nil {
				cfg.Logf("supervise: %v", err)
				time.Sleep(time.Second)
			}
		}
	}()
	return dns.Serve(ctx, dns.Config{DataRoot: cfg.Root, IdleExit: IdleExit, Logf: cfg.Logf, Lease: lease})
}
