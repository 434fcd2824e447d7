package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/translate"
)

// secretMounts materialises the service's secrets and configs as files in
// the container's directory (0700: never readable by other host users)
// with the owner and mode the service asks, and mounts them read-only.
func (e *Engine) secretMounts(p *types.Project, s types.ServiceConfig, name string) ([]specs.Mount, error) {
	refs, err := translate.FileRefs(p, s)
	if err != nil {
		return nil, err
	}
	var mounts []specs.Mount
	for i, r := range refs {
		host := filepath.Join(e.containerDir(name), "files", strconv.Itoa(i)+"-"+r.Name)
		if err := writeFileRef(host, r); err != nil {
			return nil, fmt.Errorf("service %q: %s %q: %w", s.Name, r.Kind, r.Name, err)
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: host, Destination: r.Target, Options: []string{"rbind", "ro"}})
	}
	return mounts, nil
}

// writeFileRef writes the value with its owner and mode; root-owned and
// 0444 by default, as Docker does.
func writeFileRef(host string, r translate.FileRef) error {
	content := r.Content
	if r.File != "" {
		b, err := os.ReadFile(r.File)
		if err != nil {
			return err
		}
		content = b
	}
	if err := os.MkdirAll(filepath.Dir(host), 0o700); err != nil {
		return err
	}
	// a new file, bind-mounted on its own and never rewritten: written in place
	if err := atomicfile.WriteInPlace(host, content, 0o600); err != nil {
		return err
	}
	uid, gid := 0, 0
	if r.UID != "" {
		n, err := strconv.Atoi(r.UID)
		if err != nil {
			return fmt.Errorf("uid %q: %w", r.UID, err)
		}
		uid = n
	}
	if r.GID != "" {
		n, err := strconv.Atoi(r.GID)
		if err != nil {
			return fmt.Errorf("gid %q: %w", r.GID, err)
		}
		gid = n
	}
	if err := os.Chown(host, uid, gid); err != nil {
		return err
	}
	return os.Chmod(host, r.Mode)
}
