package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// Result is what one build stored.
type Result struct {
	// Digest of the image's manifest, as the image store records it.
	Digest string
}

// Builder builds Specs on a buildkitd.
type Builder struct {
	Daemon Daemon
	// Out receives the progress display; nil discards it.
	Out io.Writer
	// Parallel bounds concurrent builds (0: 4).
	Parallel int
}

// Build builds specs concurrently, showing one combined status display, and returns
// each spec's result by Name. A failed build fails the call, after the others end.
func (b *Builder) Build(ctx context.Context, specs []Spec, o Options) (map[string]Result, error) {
	for _, s := range specs {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	if len(specs) == 0 {
		return map[string]Result{}, nil
	}
	c, err := b.Daemon.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	out := b.Out
	if out == nil {
		out = io.Discard
	}
	mode := progressui.DisplayMode(o.Progress)
	if mode == "" {
		mode = progressui.AutoMode
	}
	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		// auto on something that is not a console: plain lines
		if display, err = progressui.NewDisplay(out, progressui.PlainMode); err != nil {
			return nil, err
		}
	}
	m := newMux(len(specs) > 1)
	displayed := make(chan error, 1)
	go func() {
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), m.out)
		displayed <- err
	}()

	var mu sync.Mutex
	results := map[string]Result{}
	errs := make([]error, len(specs))
	var eg errgroup.Group
	eg.SetLimit(b.parallel())
	for i, s := range specs {
		status := m.add(s.Name)
		eg.Go(func() error {
			res, err := b.solve(ctx, c, s, o, status)
			if err != nil {
				errs[i] = err
				return nil
			}
			mu.Lock()
			results[s.Name] = res
			mu.Unlock()
			return nil
		})
	}
	_ = eg.Wait()
	m.close()
	<-displayed
	for i, err := range errs {
		if err == nil {
			continue
		}
		be := &Error{Name: specs[i].Name, Err: err}
		var output string
		be.Step, output = m.step(specs[i].Name)
		if mode == progressui.QuietMode {
			be.Output = output
		}
		errs[i] = be
	}
	return results, errors.Join(errs...)
}

func (b *Builder) parallel() int {
	if b.Parallel > 0 {
		return b.Parallel
	}
	return 4
}

// solve runs one build through the dockerfile.v0 frontend and exports the image into
// the worker's containerd namespace, unpacked, so that it runs at once.
func (b *Builder) solve(ctx context.Context, c *client.Client, s Spec, o Options, status chan *client.SolveStatus) (Result, error) {
	// Solve closes status; a build that fails before it must close it itself
	solving := false
	defer func() {
		if !solving {
			close(status)
		}
	}()
	attrs, err := s.frontendAttrs(o)
	if err != nil {
		return Result{}, err
	}
	mounts, cleanup, err := s.localMounts()
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	cacheFrom, err := cacheEntries(s.CacheFrom, false)
	if err != nil {
		return Result{}, err
	}
	cacheTo, err := cacheEntries(s.CacheTo, true)
	if err != nil {
		return Result{}, err
	}
	attachables, err := s.session()
	if err != nil {
		return Result{}, err
	}
	opt := client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   mounts,
		Exports: []client.ExportEntry{{
			Type:  client.ExporterImage,
			Attrs: map[string]string{"name": strings.Join(s.Tags, ","), "unpack": "true"},
		}},
		CacheImports:        cacheFrom,
		CacheExports:        cacheTo,
		Session:             attachables,
		AllowedEntitlements: s.entitlements(),
	}
	solving = true
	resp, err := c.Solve(ctx, nil, opt, status)
	if err != nil {
		return Result{}, err
	}
	return Result{Digest: resp.ExporterResponse["containerimage.digest"]}, nil
}

// localMounts are the directories the frontend reads: the context, the Dockerfile's
// directory (a temporary one for dockerfile_inline) and the named contexts.
func (s Spec) localMounts() (map[string]fsutil.FS, func(), error) {
	cleanup := func() {}
	ctxFS, err := fsutil.NewFS(s.Context)
	if err != nil {
		return nil, cleanup, fmt.Errorf("context %s: %w", s.Context, err)
	}
	dfDir := filepath.Dir(s.Dockerfile)
	if s.DockerfileInline != "" {
		tmp, err := os.MkdirTemp("", "berth-dockerfile-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { _ = os.RemoveAll(tmp) }
		if err := os.WriteFile(filepath.Join(tmp, "Dockerfile"), []byte(s.DockerfileInline), 0o600); err != nil {
			cleanup()
			return nil, func() {}, err
		}
		dfDir = tmp
	}
	dfFS, err := fsutil.NewFS(dfDir)
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("dockerfile directory %s: %w", dfDir, err)
	}
	mounts := map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS}
	for name, dir := range s.AdditionalContexts {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			cleanup()
			return nil, func() {}, fmt.Errorf("additional context %s: %w", name, err)
		}
		mounts[contextKey(name)] = fs
	}
	return mounts, cleanup, nil
}

// session is what the build may ask of berth: registry credentials from the Docker
// config, secrets and SSH agents the Compose file grants.
func (s Spec) session() ([]session.Attachable, error) {
	cfg := dockerconfig.LoadDefaultConfigFile(io.Discard)
	out := []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfg),
	})}
	if len(s.Secrets) > 0 {
		var sources []secretsprovider.Source
		for _, sec := range s.Secrets {
			sources = append(sources, secretsprovider.Source{ID: sec.ID, FilePath: sec.File, Env: sec.Env})
		}
		store, err := secretsprovider.NewStore(sources)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		out = append(out, secretsprovider.NewSecretProvider(store))
	}
	if len(s.SSH) > 0 {
		var confs []sshprovider.AgentConfig
		for _, k := range s.SSH {
			confs = append(confs, sshprovider.AgentConfig{ID: k.ID, Paths: k.Paths})
		}
		p, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, fmt.Errorf("ssh: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}
