package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/companion"
	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/helper"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/service"
)

// helperCommand is the hidden command berth starts on demand, one per data
// root, as podman starts aardvark-dns: it serves DNS on the networks'
// gateways and exits once no network is left.
func helperCommand() *cli.Command {
	return &cli.Command{
		Name:   "__helper",
		Hidden: true,
		Usage:  "run berth's helper (started by berth itself)",
		Action: func(c *cli.Context) error {
			// main's context already ends on SIGTERM and SIGINT
			return helper.Serve(c.Context, helper.Config{Root: stateRoot(c), Address: c.String(flagAddress), Namespace: c.String(flagNamespace)})
		},
	}
}

// newHelper is berth's helper for the namespace's state root: berth-helper, found
// as berth-logger is, else this very binary's `__helper`, with the same global flags.
func newHelper(c *cli.Context) service.Helper {
	h := helper.Process{Root: stateRoot(c)}
	flags := []string{"--data-root", c.String(flagDataRoot), "--namespace", c.String(flagNamespace), "--address", c.String(flagAddress)}
	if exe, err := companion.Helper(); err == nil {
		h.Argv = append([]string{exe}, flags...)
		return h
	}
	exe, err := berthExecutable()
	if err != nil {
		h.ArgvErr = err
		return h
	}
	h.Argv = append(append([]string{exe}, flags...), "__helper")
	return h
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
			logger, err := companion.Logger()
			check("logger", err, logger)
			// not a failure: berth runs its own __helper without it, only heavier
			if exe, err := companion.Helper(); err != nil {
				fmt.Fprintf(w, "- %-12s %v (berth runs its own __helper instead)\n", "helper bin", err)
			} else {
				check("helper bin", nil, exe)
			}
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

// berthExecutable is the binary that runs the helper when berth-helper is missing:
// this one, or $BERTH_EXE when berth runs inside another program (its tests).
func berthExecutable() (string, error) {
	if p := os.Getenv("BERTH_EXE"); p != "" {
		return p, nil
	}
	return os.Executable()
}
