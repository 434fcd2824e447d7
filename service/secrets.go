package service

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// fileRef is a secret or config as a service mounts it.
type fileRef struct {
	kind     string // "secret" or "config"
	name     string
	target   string
	uid      string
	gid      string
	mode     os.FileMode
	file     string // host file, or
	content  []byte // the value (environment or inline content)
	isExtern bool
}

// secretMounts materialises the service's secrets and configs as files in
// the container's directory (0700: never readable by other host users)
// with the owner and mode the service asks, and mounts them read-only.
func (e *Engine) secretMounts(p *types.Project, s types.ServiceConfig, name string) ([]specs.Mount, error) {
	refs, err := fileRefs(p, s)
	if err != nil {
		return nil, err
	}
	var mounts []specs.Mount
	for i, r := range refs {
		host := filepath.Join(e.containerDir(name), "files", strconv.Itoa(i)+"-"+r.name)
		if err := writeFileRef(host, r); err != nil {
			return nil, fmt.Errorf("service %q: %s %q: %w", s.Name, r.kind, r.name, err)
		}
		mounts = append(mounts, specs.Mount{Type: "bind", Source: host, Destination: r.target, Options: []string{"rbind", "ro"}})
	}
	return mounts, nil
}

func fileRefs(p *types.Project, s types.ServiceConfig) ([]fileRef, error) {
	var refs []fileRef
	for _, sec := range s.Secrets {
		def, ok := p.Secrets[sec.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: undefined secret %q", s.Name, sec.Source)
		}
		r := newFileRef("secret", types.FileReferenceConfig(sec), types.FileObjectConfig(def), "/run/secrets/"+sec.Source)
		refs = append(refs, r)
	}
	for _, cfg := range s.Configs {
		def, ok := p.Configs[cfg.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: undefined config %q", s.Name, cfg.Source)
		}
		refs = append(refs, newFileRef("config", types.FileReferenceConfig(cfg), types.FileObjectConfig(def), "/"+cfg.Source))
	}
	for _, r := range refs {
		if r.isExtern {
			return nil, fmt.Errorf("service %q: external %s %q is not supported: berth has no secret store", s.Name, r.kind, r.name)
		}
	}
	return refs, nil
}

func newFileRef(kind string, ref types.FileReferenceConfig, def types.FileObjectConfig, defaultTarget string) fileRef {
	r := fileRef{kind: kind, name: ref.Source, target: ref.Target, uid: ref.UID, gid: ref.GID, mode: 0o444,
		file: def.File, content: []byte(def.Content)}
	if r.target == "" {
		r.target = defaultTarget
	} else if !path.IsAbs(r.target) {
		r.target = path.Join(path.Dir(defaultTarget), r.target)
	}
	if ref.Mode != nil {
		r.mode = os.FileMode(*ref.Mode)
	}
	r.isExtern = bool(def.External)
	return r
}

// writeFileRef writes the value with its owner and mode; root-owned and
// 0444 by default, as Docker does.
func writeFileRef(host string, r fileRef) error {
	content := r.content
	if r.file != "" {
		b, err := os.ReadFile(r.file)
		if err != nil {
			return err
		}
		content = b
	}
	if err := os.MkdirAll(filepath.Dir(host), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(host, content, 0o600); err != nil {
		return err
	}
	uid, gid := 0, 0
	if r.uid != "" {
		n, err := strconv.Atoi(r.uid)
		if err != nil {
			return fmt.Errorf("uid %q: %w", r.uid, err)
		}
		uid = n
	}
	if r.gid != "" {
		n, err := strconv.Atoi(r.gid)
		if err != nil {
			return fmt.Errorf("gid %q: %w", r.gid, err)
		}
		gid = n
	}
	if err := os.Chown(host, uid, gid); err != nil {
		return err
	}
	return os.Chmod(host, r.mode)
}
