package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/project"
)

// Global flag names, shared by the flag definitions and their readers.
const (
	flagFile       = "file"
	flagProject    = "project-name"
	flagProjectDir = "project-directory"
	flagEnvFile    = "env-file"
	flagProfile    = "profile"
	flagDryRun     = "dry-run"
	flagProgress   = "progress"
	flagAddress    = "address"
	flagNamespace  = "namespace"
	flagDataRoot   = "data-root"
	flagCNIPath    = "cni-path"
	flagNetBackend = "network-backend"
	flagSnapshot   = "snapshotter"
	flagHostsDir   = "hosts-dir"
	flagAnsi       = "ansi"
	flagParallel   = "parallel"
	flagAllRes     = "all-resources"
	flagCompat     = "compatibility"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: flagFile, Aliases: []string{"f"}, Usage: "Compose configuration `FILE` (repeatable; \"-\" reads stdin; default: compose.yaml searched upward, or $COMPOSE_FILE)"},
		&cli.StringFlag{Name: flagProject, Aliases: []string{"p"}, Usage: "project `NAME` (default: $COMPOSE_PROJECT_NAME, the file's name:, or the directory name)"},
		&cli.StringFlag{Name: flagProjectDir, Usage: "alternate working `DIR` (default: the directory of the first Compose file)"},
		&cli.StringSliceFlag{Name: flagEnvFile, Usage: "alternate environment `FILE` (repeatable; default: .env in the project directory, or $COMPOSE_ENV_FILES)"},
		&cli.StringSliceFlag{Name: flagProfile, Usage: "enable services of profile `NAME` (repeatable; or $COMPOSE_PROFILES)"},
		&cli.BoolFlag{Name: flagDryRun, Usage: "print what would be done and change nothing"},
		&cli.StringFlag{Name: flagProgress, Value: "auto", Usage: "progress output `TYPE`: auto, tty, plain or quiet"},
		&cli.StringFlag{Name: flagAnsi, Value: ansiAuto, EnvVars: []string{"COMPOSE_ANSI"}, Usage: "when to print ANSI control characters (colours, the redrawn progress display): `WHEN` never, always or auto"},
		&cli.IntFlag{Name: flagParallel, Value: -1, EnvVars: []string{"COMPOSE_PARALLEL_LIMIT"}, Usage: "at most `N` operations (creations, starts, stops) at once; -1 for berth's default"},
		&cli.BoolFlag{Name: flagAllRes, Usage: "include the networks and volumes no selected service uses"},
		&cli.BoolFlag{Name: flagCompat, EnvVars: []string{"COMPOSE_COMPATIBILITY"}, Usage: "name containers and built images as Docker Compose v1 did: <project>_<service>_<n>"},
		&cli.StringFlag{Name: flagAddress, Aliases: []string{"a"}, EnvVars: []string{"CONTAINERD_ADDRESS"}, Value: "/run/containerd/containerd.sock", Usage: "containerd socket `PATH`"},
		&cli.StringFlag{Name: flagNamespace, Aliases: []string{"n"}, EnvVars: []string{"CONTAINERD_NAMESPACE"}, Value: "berth", Usage: "containerd `NAMESPACE`"},
		&cli.StringFlag{Name: flagDataRoot, EnvVars: []string{"BERTH_DATA_ROOT"}, Value: "/var/lib/berth", Usage: "`DIR` for berth's state: networks, volumes, logs"},
		&cli.StringFlag{Name: flagCNIPath, EnvVars: []string{"CNI_PATH"}, Usage: "`DIR` of the CNI plugins (default: the first of /opt/cni/bin, /usr/lib/cni, /usr/libexec/cni that holds bridge)"},
		&cli.StringFlag{Name: flagNetBackend, EnvVars: []string{"BERTH_NETWORK_BACKEND"}, Value: "native", Usage: "`BACKEND` that sets up new networks: native (netlink and iptables-restore, in berth) or cni (the CNI plugins); existing networks keep theirs"},
		&cli.StringFlag{Name: flagSnapshot, EnvVars: []string{"CONTAINERD_SNAPSHOTTER"}, Value: "overlayfs", Usage: "containerd snapshotter `NAME`"},
		&cli.StringFlag{Name: flagBuildkit, EnvVars: []string{"BUILDKIT_HOST"}, Usage: "BuildKit daemon `ADDRESS` for builds (default: berth starts its own under the data root)"},
		&cli.StringFlag{Name: flagHostsDir, Value: "/etc/containerd/certs.d", Usage: "registry hosts `DIR` (containerd's hosts.toml convention)"},
	}
}

// loadOptions turns the global flags into the project loader's options.
func loadOptions(c *cli.Context) project.LoadOptions {
	// c looks flags up through its parents, so global flags are found here
	envFiles := c.StringSlice(flagEnvFile)
	if len(envFiles) == 0 {
		// Docker Compose reads COMPOSE_ENV_FILES as a comma-separated list
		if v := os.Getenv("COMPOSE_ENV_FILES"); v != "" {
			envFiles = strings.Split(v, ",")
		}
	}
	return project.LoadOptions{
		ConfigPaths: c.StringSlice(flagFile),
		ProjectName: c.String(flagProject),
		ProjectDir:  c.String(flagProjectDir),
		EnvFiles:    envFiles,
		Profiles:    c.StringSlice(flagProfile),
		All:         c.Bool(flagAllRes),
	}
}

// setGlobals applies the global flags that are process-wide settings: the
// name separator of --compatibility, as Docker Compose sets its own.
func setGlobals(c *cli.Context) error {
	project.Separator = "-"
	if c.Bool(flagCompat) {
		project.Separator = "_"
	}
	if _, err := ansiMode(c); err != nil {
		return usageErr{err}
	}
	return nil
}

// networkConfig is the network manager's configuration from the global flags. The
// plugin directory is looked up only when a network of the CNI backend needs it.
func networkConfig(c *cli.Context) (network.Config, error) {
	backend, err := network.ParseBackend(c.String(flagNetBackend))
	if err != nil {
		return network.Config{}, usageErr{fmt.Errorf("--%s: %w", flagNetBackend, err)}
	}
	return network.Config{DataRoot: stateRoot(c), CNIPath: c.String(flagCNIPath), Backend: backend}, nil
}

// stateRoot is the data root of the containerd namespace in use: each
// namespace has its own networks, volumes and containers, as each Docker
// daemon has.
func stateRoot(c *cli.Context) string {
	return filepath.Join(c.String(flagDataRoot), c.String(flagNamespace))
}
