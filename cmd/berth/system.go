package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/helper"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/service"
)

// helperIdleExit is how long the helper stays once no berth network is left.
const helperIdleExit = 30 * time.Second

// helperCommand is the hidden command berth starts on demand, one per data
// root, as podman starts aardvark-dns: it serves DNS on the networks'
// gateways and exits once no network is left.
func helperCommand() *cli.Command {
	return &cli.Command{
		Name:   "__helper",
		Hidden: true,
		Usage:  "run berth's helper (started by berth itself)",
		Action: func(c *cli.Context) error {
			root := stateRoot(c)
			lease, err := daemon.Acquire(root)
			if err != nil {
				return err
			}
			defer lease.Release()
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			logger := log.New(os.Stderr, "berth-helper: ", log.LstdFlags)
			eng, done, err := newEngine(c)
			if err != nil {
				return err
			}
			defer done()
			// restart policies and health checks live as long as DNS does:
			// until no network is left
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					if err := eng.Supervise(ctx); err != nil {
						logger.Printf("supervise: %v", err)
						time.Sleep(time.Second)
					}
				}
			}()
			return dns.Serve(ctx, dns.Config{DataRoot: root, IdleExit: helperIdleExit, Logf: logger.Printf, Lease: lease})
		},
	}
}

// newHelper is berth's helper for the namespace's state root, started as this very
// binary with the same global flags.
func newHelper(c *cli.Context) service.Helper {
	h := helper.Process{Root: stateRoot(c)}
	exe, err := berthExecutable()
	if err != nil {
		h.ArgvErr = err
		return h
	}
	h.Argv = []string{exe, "--data-root", c.String(flagDataRoot), "--namespace", c.String(flagNamespace), "--address", c.String(flagAddress), "__helper"}
	return h
}

// findLogger locates berth-logger: $BERTH_LOGGER, beside the berth binary,
// or in the library directory `make install` uses.
func findLogger() (string, error) { return findCompanion("berth-logger", "BERTH_LOGGER") }

// findCompanion locates one of the binaries shipped beside berth: $env, beside the
// berth binary, or in the library directories a package installs them in.
func findCompanion(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), name))
	}
	candidates = append(candidates, "/usr/local/lib/berth/"+name, "/usr/lib/berth/"+name)
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (looked in %s): build it with 'make build', or set %s", name, strings.Join(candidates, ", "), env)
}

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "Check berth's runtime: containerd, CNI plugins, logger and the DNS helper",
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			ok := true
			check := func(what string, err error, detail string) {
				if err != nil {
					ok = false
					fmt.Fprintf(w, "✘ %-12s %v\n", what, err)
					return
				}
				fmt.Fprintf(w, "✔ %-12s %s\n", what, detail)
			}
			client, err := connect(c)
			if err == nil {
				client.Close()
			}
			check("containerd", err, c.String(flagAddress)+" (namespace "+c.String(flagNamespace)+")")
			cniPath, err := network.FindCNIPath(c.String(flagCNIPath))
			if err != nil && c.String(flagNetBackend) != string(network.BackendCNI) {
				// only networks of the CNI backend need them
				cniPath, err = "not found; only --network-backend cni needs them", nil
			}
			check("CNI plugins", err, cniPath)
			logger, err := findLogger()
			check("logger", err, logger)
			root := stateRoot(c)
			if pid, running := daemon.Status(root); running {
				report, err := dns.Status(root)
				detail := fmt.Sprintf("pid %d", pid)
				if err == nil {
					for _, n := range report.Networks {
						detail += fmt.Sprintf("; %s on %v", n.Network, n.Addrs)
						if len(n.Errors) > 0 {
							detail += " (" + strings.Join(n.Errors, "; ") + ")"
						}
					}
				}
				check("DNS helper", err, detail)
			} else {
				fmt.Fprintln(w, "- DNS helper   not running (berth starts it with the first network)")
			}
			// only build: needs BuildKit: its absence is reported, not a failure
			if detail, err := buildkitDaemon(c).Describe(c.Context); err != nil {
				fmt.Fprintf(w, "- %-12s %v\n", "builder", err)
			} else {
				check("builder", nil, detail)
			}
			if !ok {
				return exitCodeErr{1}
			}
			return nil
		},
	}
}

// berthExecutable is the binary that runs the helper: this one, or
// $BERTH_EXE when berth runs inside another program (its tests).
func berthExecutable() (string, error) {
	if p := os.Getenv("BERTH_EXE"); p != "" {
		return p, nil
	}
	return os.Executable()
}
