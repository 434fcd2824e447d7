package translate

import (
	"fmt"
	"os"
	"path"

	"github.com/compose-spec/compose-go/v2/types"
)

// FileRef is a secret or config as a service mounts it.
type FileRef struct {
	Kind   string // "secret" or "config"
	Name   string
	Target string // absolute path in the container
	UID    string
	GID    string
	Mode   os.FileMode
	// File is the host file with the value, or Content the value itself
	// (a secret from the environment, an inline config).
	File    string
	Content []byte
	// Env names the environment variable a secret comes from (Content holds its value).
	Env string
}

// FileRefs lists the service's secrets, then its configs, with Docker's default
// targets (/run/secrets/NAME, /NAME) and mode 0444.
func FileRefs(p *types.Project, s types.ServiceConfig) ([]FileRef, error) {
	var refs []FileRef
	for _, sec := range s.Secrets {
		def, ok := p.Secrets[sec.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: undefined secret %q", s.Name, sec.Source)
		}
		if def.External {
			return nil, fmt.Errorf("service %q: external secret %q is not supported: berth has no secret store", s.Name, sec.Source)
		}
		refs = append(refs, newFileRef("secret", types.FileReferenceConfig(sec), types.FileObjectConfig(def), "/run/secrets/"+sec.Source))
	}
	for _, cfg := range s.Configs {
		def, ok := p.Configs[cfg.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: undefined config %q", s.Name, cfg.Source)
		}
		if def.External {
			return nil, fmt.Errorf("service %q: external config %q is not supported: berth has no secret store", s.Name, cfg.Source)
		}
		refs = append(refs, newFileRef("config", types.FileReferenceConfig(cfg), types.FileObjectConfig(def), "/"+cfg.Source))
	}
	return refs, nil
}

func newFileRef(kind string, ref types.FileReferenceConfig, def types.FileObjectConfig, defaultTarget string) FileRef {
	r := FileRef{Kind: kind, Name: ref.Source, Target: ref.Target, UID: ref.UID, GID: ref.GID, Mode: 0o444,
		File: def.File, Content: []byte(def.Content), Env: def.Environment}
	if r.Target == "" {
		r.Target = defaultTarget
	} else if !path.IsAbs(r.Target) {
		r.Target = path.Join(path.Dir(defaultTarget), r.Target)
	}
	if ref.Mode != nil {
		r.Mode = os.FileMode(*ref.Mode)
	}
	return r
}
