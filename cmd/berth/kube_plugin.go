//go:build kubeplugin

package main

import (
	"os"
	"syscall"

	"github.com/berth-dev/berth/internal/companion"
	"github.com/urfave/cli/v2"
)

// kubeCommands hand `berth kube` and `berth bridge` to berth-kube, the same
// command line built with the Kubernetes client (make build builds berth with the
// kubeplugin tag). Those libraries are half of berth's size and a third of its
// start-up (their package initialisation, ≈ 6 ms), which every command, and the
// helper every up starts, would otherwise pay.
func kubeCommands() []*cli.Command {
	return []*cli.Command{
		kubePluginCommand("kube", "Convert the project into Kubernetes manifests, or run it on a cluster"),
		kubePluginCommand("bridge", "Convert the project into Kubernetes manifests (same as 'berth kube convert')"),
	}
}

func kubePluginCommand(name, usage string) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		SkipFlagParsing: true,
		Action: func(*cli.Context) error {
			path, err := companion.Find("berth-kube", "BERTH_KUBE")
			if err != nil {
				return err
			}
			// the whole command line, global flags included: berth-kube is berth
			return syscall.Exec(path, append([]string{path}, os.Args[1:]...), os.Environ())
		},
	}
}
