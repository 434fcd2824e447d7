// Package imagekit builds small OCI images on the host without a daemon, a registry or the
// network: a base layer made of the host's busybox-static (so health checks and `exec` have
// sh, wget and nslookup) and a layer holding one statically linked Go program at /app. It
// writes them as OCI image-layout archives that containerd's importer, and so
// `berth image load`, names the way berth looks images up.
//
// Builds are reproducible: layers use a fixed timestamp and a fixed entry order, and Go
// programs are built with -trimpath, so the same sources give the same image ID. That is
// what lets `berth up` recreate only the services whose program changed.
package imagekit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultBusybox is where Debian's busybox-static installs its binary.
const DefaultBusybox = "/bin/busybox"

// DefaultPath is the PATH of Docker's official images; the base has everything in /bin.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// epoch is the fixed time of every layer entry, history entry and config: a timestamp
// taken from the clock would give every build a new image ID.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Spec describes one image: a Go program on the busybox base.
type Spec struct {
	// Ref names the image, "berth-examples/web" or "berth-examples/web:1"; the tag
	// defaults to latest.
	Ref string
	// Program is the directory of a Go main package; it is compiled to /app, the entrypoint.
	Program string
	// Env holds KEY=value pairs; they follow PATH, and a PATH here replaces the default.
	Env []string
	// ExposedPorts are "8080", "8080/tcp" or "53/udp", as in a Dockerfile's EXPOSE.
	ExposedPorts []string
	// Labels are the image's labels.
	Labels map[string]string
	// Healthcheck is the Dockerfile HEALTHCHECK; nil means none. Test is {"NONE"},
	// {"CMD", args...} or {"CMD-SHELL", command}.
	Healthcheck *v1.HealthConfig
}

// Builder builds images that share one base layer: it is made once per Builder, so a
// set of images is stored once by containerd and compressed once here.
type Builder struct {
	// Busybox is the static busybox binary of the base layer; empty means DefaultBusybox.
	Busybox string

	once    sync.Once
	base    v1.Layer
	baseErr error
}

// Build validates s, compiles its program and returns the image. Validation comes first:
// a typo in a port should not cost a compilation.
func (b *Builder) Build(ctx context.Context, s Spec) (v1.Image, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	base, err := b.Base()
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", s.Ref, err)
	}
	app, err := ProgramLayer(ctx, s.Program)
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", s.Ref, err)
	}
	img, err := Assemble(cfg,
		Layer{Layer: base, CreatedBy: "imagekit: busybox from " + b.busybox()},
		Layer{Layer: app, CreatedBy: "imagekit: go build " + s.Program},
	)
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", s.Ref, err)
	}
	return img, nil
}

// Base returns the busybox base layer, building it on the first call.
func (b *Builder) Base() (v1.Layer, error) {
	b.once.Do(func() { b.base, b.baseErr = BusyboxLayer(b.busybox()) })
	return b.base, b.baseErr
}

func (b *Builder) busybox() string {
	if b.Busybox == "" {
		return DefaultBusybox
	}
	return b.Busybox
}

// config checks s and turns it into the image's runtime config.
func (s Spec) config() (v1.Config, error) {
	cfg := v1.Config{Env: []string{DefaultPath}, Entrypoint: []string{"/app"}}
	if _, _, err := NormalizeRef(s.Ref); err != nil {
		return cfg, err
	}
	if s.Program == "" {
		return cfg, fmt.Errorf("image %s: no program directory", s.Ref)
	}
	var err error
	if cfg.Env, err = mergeEnv(cfg.Env, s.Env); err != nil {
		return cfg, fmt.Errorf("image %s: %w", s.Ref, err)
	}
	if cfg.ExposedPorts, err = exposedPorts(s.ExposedPorts); err != nil {
		return cfg, fmt.Errorf("image %s: %w", s.Ref, err)
	}
	if s.Healthcheck != nil {
		if err := checkHealthcheck(s.Healthcheck.Test); err != nil {
			return cfg, fmt.Errorf("image %s: %w", s.Ref, err)
		}
		hc := *s.Healthcheck
		hc.Test = append([]string(nil), hc.Test...)
		cfg.Healthcheck = &hc
	}
	cfg.Labels = maps.Clone(s.Labels)
	return cfg, nil
}

// mergeEnv keeps one value per key, as a Dockerfile's ENV does.
func mergeEnv(env, vars []string) ([]string, error) {
	out := append([]string(nil), env...)
	for _, kv := range vars {
		key, _, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("env %q: want KEY=value", kv)
		}
		replaced := false
		for i, old := range out {
			if oldKey, _, _ := strings.Cut(old, "="); oldKey == key {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out, nil
}

// exposedPorts turns EXPOSE-style ports into the config's keys; a bare port means tcp.
func exposedPorts(ports []string) (map[string]struct{}, error) {
	if len(ports) == 0 {
		return nil, nil
	}
	out := make(map[string]struct{}, len(ports))
	for _, p := range ports {
		port, proto, found := strings.Cut(p, "/")
		if !found {
			proto = "tcp"
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("exposed port %q: port must be 1-65535", p)
		}
		switch proto {
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("exposed port %q: protocol must be tcp, udp or sctp", p)
		}
		out[fmt.Sprintf("%d/%s", n, proto)] = struct{}{}
	}
	return out, nil
}

func checkHealthcheck(test []string) error {
	if len(test) == 0 {
		return errors.New("healthcheck: empty test")
	}
	switch test[0] {
	case "NONE":
		return nil
	case "CMD", "CMD-SHELL":
		if len(test) < 2 {
			return fmt.Errorf("healthcheck test %q: %s needs a command", test, test[0])
		}
		return nil
	default:
		return fmt.Errorf("healthcheck test %q: must start with NONE, CMD or CMD-SHELL", test)
	}
}

// Layer is one layer of an image with the history line that explains it.
type Layer struct {
	Layer     v1.Layer
	CreatedBy string
}

// Assemble stacks layers, lowest first, under cfg into a linux image for the host's
// architecture. It uses OCI media types throughout: containerd, registries and the
// archive writer all accept them.
func Assemble(cfg v1.Config, layers ...Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		RootFS:       v1.RootFS{Type: "layers"},
		Config:       cfg,
	})
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{
			Layer:   l.Layer,
			History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: l.CreatedBy},
		}
	}
	return mutate.Append(img, adds...)
}
