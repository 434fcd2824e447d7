package build

import (
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client"
)

// Spec is one image to build.
type Spec struct {
	// Name says what is built in progress lines and errors (the service).
	Name string
	// Tags are the image names to store, normalized (docker.io/library/x:latest);
	// the first is the image the service runs.
	Tags []string
	// Context is the build context directory.
	Context string
	// Dockerfile is the Dockerfile's path; ignored when DockerfileInline is set.
	Dockerfile       string
	DockerfileInline string
	// AdditionalContexts are named contexts (FROM/COPY --from=<name>), directories.
	AdditionalContexts map[string]string
	Args               map[string]string
	Labels             map[string]string
	Target             string
	// Network of RUN steps: "", "default", "host" or "none".
	Network    string
	ExtraHosts []string // "host=ip"
	ShmSize    int64
	Platforms  []string
	// CacheFrom and CacheTo are Compose's cache entries: "type=registry,ref=...",
	// "type=local,src=..." or a bare image reference (registry).
	CacheFrom []string
	CacheTo   []string
	Secrets   []Secret
	SSH       []SSH
	NoCache   bool
	// Pull asks the registry for FROM images even when a local one exists.
	Pull bool
}

// Secret is a build secret (RUN --mount=type=secret,id=ID) read from a file or the
// environment of berth.
type Secret struct {
	ID   string
	File string
	Env  string
}

// SSH is an SSH agent socket or key files (RUN --mount=type=ssh,id=ID).
type SSH struct {
	ID    string
	Paths []string
}

// Options apply to every build of a run.
type Options struct {
	// Progress is "auto", "tty", "plain", "quiet" or "rawjson".
	Progress string
	NoCache  bool
	Pull     bool
	// Args (--build-arg) override the specs' args.
	Args map[string]string
}

// frontendAttrs are the dockerfile.v0 frontend's options for s.
func (s Spec) frontendAttrs(o Options) (map[string]string, error) {
	attrs := map[string]string{
		"filename":           "Dockerfile",
		"image-resolve-mode": "local",
	}
	if s.DockerfileInline == "" && s.Dockerfile != "" {
		attrs["filename"] = filepath.Base(s.Dockerfile)
	}
	if s.Pull || o.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	if s.NoCache || o.NoCache {
		attrs["no-cache"] = ""
	}
	if s.Target != "" {
		attrs["target"] = s.Target
	}
	args := maps.Clone(s.Args)
	if args == nil {
		args = map[string]string{}
	}
	maps.Copy(args, o.Args)
	for k, v := range args {
		attrs["build-arg:"+k] = v
	}
	for k, v := range s.Labels {
		attrs["label:"+k] = v
	}
	switch s.Network {
	case "", "default":
	case "host", "none":
		attrs["force-network-mode"] = s.Network
	default:
		return nil, fmt.Errorf("network %q: a build runs with default, host or none", s.Network)
	}
	if len(s.ExtraHosts) > 0 {
		attrs["add-hosts"] = strings.Join(s.ExtraHosts, ",")
	}
	if s.ShmSize > 0 {
		attrs["shm-size"] = strconv.FormatInt(s.ShmSize, 10)
	}
	if len(s.Platforms) > 0 {
		attrs["platform"] = strings.Join(s.Platforms, ",")
	}
	for _, name := range slices.Sorted(maps.Keys(s.AdditionalContexts)) {
		attrs["context:"+name] = "local:" + contextKey(name)
	}
	return attrs, nil
}

func contextKey(name string) string { return "ctx-" + name }

func (s Spec) entitlements() []string {
	if s.Network == "host" {
		return []string{"network.host"}
	}
	return nil
}

// cacheEntries parses Compose's cache_from / cache_to entries, the CSV syntax of
// `docker buildx build --cache-from`: type=registry,ref=..., type=local,src=...,
// or a bare reference, which is a registry cache.
func cacheEntries(entries []string, export bool) ([]client.CacheOptionsEntry, error) {
	var out []client.CacheOptionsEntry
	for _, e := range entries {
		if !strings.Contains(e, "=") {
			out = append(out, client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": e}})
			continue
		}
		fields, err := csv.NewReader(strings.NewReader(e)).Read()
		if err != nil {
			return nil, fmt.Errorf("cache entry %q: %w", e, err)
		}
		entry := client.CacheOptionsEntry{Attrs: map[string]string{}}
		for _, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("cache entry %q: %q is not key=value", e, f)
			}
			if k == "type" {
				entry.Type = v
			} else {
				entry.Attrs[k] = v
			}
		}
		switch entry.Type {
		case "registry", "inline":
		case "local":
			key := "src"
			if export {
				key = "dest"
			}
			if entry.Attrs[key] == "" {
				return nil, fmt.Errorf("cache entry %q: type=local needs %s=DIRECTORY", e, key)
			}
		case "":
			return nil, fmt.Errorf("cache entry %q: no type= (registry or local)", e)
		default:
			return nil, fmt.Errorf("cache entry %q: type %q is not supported (registry, local, inline)", e, entry.Type)
		}
		if export && entry.Type == "registry" && entry.Attrs["mode"] == "" {
			entry.Attrs["mode"] = "min"
		}
		out = append(out, entry)
	}
	return out, nil
}

// check refuses what cannot be built before any daemon is asked.
func (s Spec) check() error {
	if len(s.Tags) == 0 {
		return fmt.Errorf("build %s: no image name", s.Name)
	}
	if isRemoteContext(s.Context) {
		return fmt.Errorf("build %s: context %s: a Git or URL context is not supported yet: clone it and use the directory", s.Name, s.Context)
	}
	if fi, err := os.Stat(s.Context); err != nil || !fi.IsDir() {
		return fmt.Errorf("build %s: context %s: not a directory", s.Name, s.Context)
	}
	if s.DockerfileInline == "" {
		if _, err := os.Stat(s.Dockerfile); err != nil {
			return fmt.Errorf("build %s: dockerfile %s: %w", s.Name, s.Dockerfile, err)
		}
	}
	for name, dir := range s.AdditionalContexts {
		if isRemoteContext(dir) || strings.HasPrefix(dir, "docker-image://") || strings.HasPrefix(dir, "service:") {
			return fmt.Errorf("build %s: additional context %s=%s: only directories are supported yet", s.Name, name, dir)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("build %s: additional context %s: %s is not a directory", s.Name, name, dir)
		}
	}
	return nil
}

// isRemoteContext is what Docker treats as a remote build context.
func isRemoteContext(ctx string) bool {
	return strings.Contains(ctx, "://") || strings.HasPrefix(ctx, "git@") || strings.HasPrefix(ctx, "github.com/")
}
