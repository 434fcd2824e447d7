// Package companion finds the binaries shipped beside berth (berth-logger, berth-helper,
// berth-kube): the one an environment variable names, the one beside the running
// binary, or the one in the library directories a package installs them in.
package companion

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Find locates the companion name, $env first.
func Find(name, env string) (string, error) {
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

// Logger locates berth-logger, which captures every container's output.
func Logger() (string, error) { return Find("berth-logger", "BERTH_LOGGER") }

// Helper locates berth-helper, the DNS, restart and health process berth starts.
func Helper() (string, error) { return Find("berth-helper", "BERTH_HELPER") }
