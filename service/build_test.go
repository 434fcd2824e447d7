package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/ctrd"
)

// ---- fixtures ----

// buildProject is project "proj" in /src/proj with the given services.
func buildProject(services ...types.ServiceConfig) *types.Project {
	p := &types.Project{Name: "proj", WorkingDir: "/src/proj", Services: types.Services{}}
	for _, s := range services {
		p.Services[s.Name] = s
	}
	return p
}

// buildService is a service with build: (context /src/proj/<name>) and the given
// changes applied.
func buildService(name string, mods ...func(*types.ServiceConfig)) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Build = &types.BuildConfig{Context: "/src/proj/" + name}
	for _, m := range mods {
		m(&s)
	}
	return s
}

// imageService is a service without build:.
func imageService(name, image string) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Image = image
	return s
}

func withImage(image string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) { s.Image = image }
}

func withPullPolicy(policy string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) { s.PullPolicy = policy }
}

func ptrTo(s string) *string { return &s }

// imageStore is a Runtime that knows which images are present. Anything else the
// engine asks of it panics (nil embedded Runtime), which a test would show.
type imageStore struct {
	Runtime
	mu      sync.Mutex
	present map[string]bool // normalized references
	fail    error           // returned by every lookup when set
	asked   []string
}

func newImageStore(t *testing.T, present ...string) *imageStore {
	t.Helper()
	st := &imageStore{present: map[string]bool{}}
	for _, ref := range present {
		st.present[normalized(t, ref)] = true
	}
	return st
}

func normalized(t *testing.T, ref string) string {
	t.Helper()
	n, err := ctrd.NormalizeRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ImageConfig normalizes ref as *ctrd.Client does.
func (st *imageStore) ImageConfig(_ context.Context, ref string) (ctrd.ImageInfo, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.asked = append(st.asked, ref)
	if st.fail != nil {
		return ctrd.ImageInfo{}, st.fail
	}
	name, err := ctrd.NormalizeRef(ref)
	if err != nil {
		return ctrd.ImageInfo{}, err
	}
	if !st.present[name] {
		return ctrd.ImageInfo{}, fmt.Errorf("inspect image %s: %w", name, ctrd.ErrImageNotFound)
	}
	return ctrd.ImageInfo{Name: name, ID: "sha256:" + name}, nil
}

// specRecorder is a Builder that records what it is asked to build.
type specRecorder struct {
	calls int
	specs []build.Spec
	opts  build.Options
	err   error
}

func (b *specRecorder) Build(_ context.Context, specs []build.Spec, o build.Options) (map[string]build.Result, error) {
	b.calls++
	b.specs = append(b.specs, specs...)
	b.opts = o
	if b.err != nil {
		return nil, b.err
	}
	out := map[string]build.Result{}
	for _, s := range specs {
		out[s.Name] = build.Result{Digest: "sha256:" + s.Name}
	}
	return out, nil
}

func (b *specRecorder) names() []string {
	var out []string
	for _, s := range b.specs {
		out = append(out, s.Name)
	}
	return out
}

// buildEngine is an Engine with rt and b, collecting its warnings.
func buildEngine(rt Runtime, b Builder) (*Engine, *[]string) {
	var warnings []string
	e := &Engine{Runtime: rt, Warn: func(w string) { warnings = append(warnings, w) }}
	if b != nil {
		e.Builder = b
	}
	return e, &warnings
}

// ---- BuildSpec ----

func TestBuildSpec(t *testing.T) {
	tests := []struct {
		name    string
		project func(*types.Project) // changes to the project, after the service is in it
		service types.ServiceConfig
		check   func(t *testing.T, got build.Spec)
	}{
		{
			name:    "image named <project>-<service> by default",
			service: buildService("web"),
			check: func(t *testing.T, got build.Spec) {
				wantTags(t, got, "docker.io/library/proj-web:latest")
				if got.Name != "web" {
					t.Errorf("name %q", got.Name)
				}
			},
		},
		{
			name:    "image: names it",
			service: buildService("web", withImage("registry.example:5000/team/web:1")),
			check: func(t *testing.T, got build.Spec) {
				wantTags(t, got, "registry.example:5000/team/web:1")
			},
		},
		{
			name: "build.tags appended normalized, without duplicates",
			service: buildService("web", func(s *types.ServiceConfig) {
				s.Build.Tags = []string{"proj-web", "example/web:v2", "docker.io/example/web:v2", "mirror.example/web"}
			}),
			check: func(t *testing.T, got build.Spec) {
				wantTags(t, got, "docker.io/library/proj-web:latest", "docker.io/example/web:v2", "mirror.example/web:latest")
			},
		},
		{
			name:    "Dockerfile in the context by default",
			service: buildService("web"),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "context", got.Context, "/src/proj/web")
				wantEqual(t, "dockerfile", got.Dockerfile, "/src/proj/web/Dockerfile")
			},
		},
		{
			name:    "relative dockerfile joined to the context",
			service: buildService("web", func(s *types.ServiceConfig) { s.Build.Dockerfile = "docker/Dockerfile.prod" }),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "dockerfile", got.Dockerfile, "/src/proj/web/docker/Dockerfile.prod")
			},
		},
		{
			name:    "absolute dockerfile kept",
			service: buildService("web", func(s *types.ServiceConfig) { s.Build.Dockerfile = "/elsewhere/Dockerfile" }),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "dockerfile", got.Dockerfile, "/elsewhere/Dockerfile")
			},
		},
		{
			name:    "context defaults to the working directory",
			service: buildService("web", func(s *types.ServiceConfig) { s.Build.Context = "" }),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "context", got.Context, "/src/proj")
				wantEqual(t, "dockerfile", got.Dockerfile, "/src/proj/Dockerfile")
			},
		},
		{
			name: "args without a value are dropped",
			service: buildService("web", func(s *types.ServiceConfig) {
				s.Build.Args = types.MappingWithEquals{"A": ptrTo("1"), "EMPTY": ptrTo(""), "UNSET": nil}
			}),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "args", got.Args, map[string]string{"A": "1", "EMPTY": ""})
			},
		},
		{
			name: "labels, extra hosts, and what passes as it is",
			service: buildService("web", func(s *types.ServiceConfig) {
				b := s.Build
				b.Labels = types.Labels{"org.example.team": "a"}
				b.ExtraHosts = types.HostsList{"db": {"10.0.0.2"}, "cache": {"10.0.0.3", "fd00::3"}}
				b.Target, b.Network, b.ShmSize, b.NoCache = "prod", "host", 1<<20, true
				b.CacheFrom, b.CacheTo = []string{"type=local,src=/c"}, []string{"type=local,dest=/c"}
				b.DockerfileInline = "FROM scratch"
				b.AdditionalContexts = types.Mapping{"assets": "/src/assets"}
			}),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "labels", got.Labels, map[string]string{"org.example.team": "a"})
				hosts := slices.Sorted(slices.Values(got.ExtraHosts))
				wantEqual(t, "extra hosts", hosts, []string{"cache=10.0.0.3", "cache=fd00::3", "db=10.0.0.2"})
				wantEqual(t, "target", got.Target, "prod")
				wantEqual(t, "network", got.Network, "host")
				wantEqual(t, "shm size", got.ShmSize, int64(1<<20))
				wantEqual(t, "no cache", got.NoCache, true)
				wantEqual(t, "cache from", got.CacheFrom, []string{"type=local,src=/c"})
				wantEqual(t, "cache to", got.CacheTo, []string{"type=local,dest=/c"})
				wantEqual(t, "inline", got.DockerfileInline, "FROM scratch")
				wantEqual(t, "additional contexts", got.AdditionalContexts, map[string]string{"assets": "/src/assets"})
			},
		},
		{
			name:    "platforms of the build",
			service: buildService("web", func(s *types.ServiceConfig) { s.Platform = "linux/arm64"; s.Build.Platforms = []string{"linux/amd64"} }),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "platforms", got.Platforms, []string{"linux/amd64"})
			},
		},
		{
			name:    "platforms fall back to the service's",
			service: buildService("web", func(s *types.ServiceConfig) { s.Platform = "linux/arm64" }),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "platforms", got.Platforms, []string{"linux/arm64"})
			},
		},
		{
			name: "secrets: id is the source, or the target when set",
			project: func(p *types.Project) {
				p.Secrets = types.Secrets{
					"npmrc": {File: "/home/u/.npmrc"},
					"token": {Environment: "API_TOKEN"},
				}
			},
			service: buildService("web", func(s *types.ServiceConfig) {
				s.Build.Secrets = []types.ServiceSecretConfig{{Source: "npmrc"}, {Source: "token", Target: "api"}}
			}),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "secrets", got.Secrets, []build.Secret{
					{ID: "npmrc", File: "/home/u/.npmrc"},
					{ID: "api", Env: "API_TOKEN"},
				})
			},
		},
		{
			name: "ssh keys",
			service: buildService("web", func(s *types.ServiceConfig) {
				s.Build.SSH = types.SSHConfig{{ID: "default"}, {ID: "deploy", Path: "/home/u/.ssh/deploy"}}
			}),
			check: func(t *testing.T, got build.Spec) {
				wantEqual(t, "ssh", got.SSH, []build.SSH{{ID: "default"}, {ID: "deploy", Paths: []string{"/home/u/.ssh/deploy"}}})
			},
		},
		{
			name:    "no pull by default",
			service: buildService("web", withPullPolicy(types.PullPolicyMissing)),
			check:   func(t *testing.T, got build.Spec) { wantEqual(t, "pull", got.Pull, false) },
		},
		{
			name:    "build.pull pulls",
			service: buildService("web", func(s *types.ServiceConfig) { s.Build.Pull = true }),
			check:   func(t *testing.T, got build.Spec) { wantEqual(t, "pull", got.Pull, true) },
		},
		{
			name:    "pull_policy always pulls",
			service: buildService("web", withPullPolicy(types.PullPolicyAlways)),
			check:   func(t *testing.T, got build.Spec) { wantEqual(t, "pull", got.Pull, true) },
		},
		{
			name:    "isolation default is fine",
			service: buildService("web", func(s *types.ServiceConfig) { s.Build.Isolation = "default" }),
			check:   func(t *testing.T, got build.Spec) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buildProject(tt.service)
			if tt.project != nil {
				tt.project(p)
			}
			got, err := BuildSpec(p, tt.service)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestBuildSpecDoesNotShareTheModel(t *testing.T) {
	// the spec is handed to builds running concurrently: changing it must not change
	// the project
	s := buildService("web", func(s *types.ServiceConfig) {
		s.Build.Labels = types.Labels{"a": "1"}
		s.Build.AdditionalContexts = types.Mapping{"c": "/c"}
	})
	got, err := BuildSpec(buildProject(s), s)
	if err != nil {
		t.Fatal(err)
	}
	got.Labels["a"], got.AdditionalContexts["c"] = "changed", "changed"
	if s.Build.Labels["a"] != "1" || s.Build.AdditionalContexts["c"] != "/c" {
		t.Errorf("spec shares maps with the model: %v %v", s.Build.Labels, s.Build.AdditionalContexts)
	}
}

func TestBuildSpecErrors(t *testing.T) {
	secrets := types.Secrets{"ext": {External: true}, "file": {File: "/f"}}
	tests := []struct {
		name    string
		service types.ServiceConfig
		want    string
	}{
		{"undefined secret", buildService("web", func(s *types.ServiceConfig) {
			s.Build.Secrets = []types.ServiceSecretConfig{{Source: "file"}, {Source: "nope"}}
		}), `undefined secret "nope"`},
		{"external secret", buildService("web", func(s *types.ServiceConfig) {
			s.Build.Secrets = []types.ServiceSecretConfig{{Source: "ext"}}
		}), `secret "ext" is external`},
		{"entitlements", buildService("web", func(s *types.ServiceConfig) {
			s.Build.Entitlements = []string{"network.host"}
		}), "build.entitlements is not supported"},
		{"privileged", buildService("web", func(s *types.ServiceConfig) { s.Build.Privileged = true }),
			"build.privileged is not supported"},
		{"isolation", buildService("web", func(s *types.ServiceConfig) { s.Build.Isolation = "hyperv" }),
			"build.isolation is not supported"},
		{"bad tag", buildService("web", func(s *types.ServiceConfig) { s.Build.Tags = []string{"Not A Ref"} }),
			"build.tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := buildProject(tt.service)
			p.Secrets = secrets
			_, err := BuildSpec(p, tt.service)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `service "web"`) {
				t.Errorf("err %v, want one naming the service and containing %q", err, tt.want)
			}
		})
	}
}

func wantTags(t *testing.T, got build.Spec, want ...string) {
	t.Helper()
	wantEqual(t, "tags", got.Tags, want)
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// ---- toBuild ----

func TestToBuild(t *testing.T) {
	// present: what the image store holds. The project:
	//   built       build:, image present
	//   missing     build:, image missing
	//   always      build:, image present, pull_policy always
	//   policybuild build:, image present, pull_policy build
	//   db          no build:, image missing (the pull step's business)
	p := buildProject(
		buildService("built"),
		buildService("missing"),
		buildService("always", withPullPolicy(types.PullPolicyAlways)),
		buildService("policybuild", withPullPolicy(types.PullPolicyBuild)),
		imageService("db", "postgres:17"),
	)
	present := []string{"proj-built", "proj-always", "proj-policybuild"}
	tests := []struct {
		name    string
		policy  BuildPolicy
		present []string
		want    []string
		wantErr []string // in the error
	}{
		{"missing: absent images and pull_policy build or always", BuildMissing, present,
			[]string{"always", "missing", "policybuild"}, nil},
		{"missing: all present", BuildMissing, slices.Concat(present, []string{"proj-missing"}),
			[]string{"always", "policybuild"}, nil},
		{"always: every service with build:", BuildAlways, present,
			[]string{"always", "built", "missing", "policybuild"}, nil},
		{"never: a missing image is an error", BuildNever, present,
			nil, []string{`service "missing"`, "--no-build"}},
		{"never: nothing built when all are present", BuildNever, slices.Concat(present, []string{"proj-missing"}),
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newImageStore(t, tt.present...)
			e, _ := buildEngine(rt, nil)
			got, err := e.toBuild(t.Context(), e.newImageCache(), p, tt.policy)
			if tt.wantErr != nil {
				for _, w := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("err %v, want one containing %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("built %v, want %v", got, tt.want)
			}
			for _, ref := range rt.asked {
				if strings.Contains(ref, "postgres") {
					t.Errorf("asked for the image of db, which has no build: (%s)", ref)
				}
			}
		})
	}
}

func TestToBuildLookupError(t *testing.T) {
	// an image store that fails is not a missing image
	rt := newImageStore(t)
	rt.fail = errors.New("containerd: connection refused")
	e, _ := buildEngine(rt, nil)
	_, err := e.toBuild(t.Context(), e.newImageCache(), buildProject(buildService("web")), BuildMissing)
	if err == nil || !strings.Contains(err.Error(), `service "web"`) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err %v, want the lookup's error naming the service", err)
	}
}

// ---- Build / buildServices ----

func TestEngineBuild(t *testing.T) {
	// api and worker share an image; db has none to build
	p := buildProject(
		buildService("web"),
		buildService("api", withImage("example/shared")),
		buildService("worker", withImage("example/shared:latest")),
		imageService("db", "postgres:17"),
	)
	tests := []struct {
		name         string
		services     []string
		wantBuilt    []string // specs the builder got, by name; nil: not called
		wantWarnings []string
		wantErr      string
	}{
		{"all with build:, a shared image once", nil, []string{"api", "web"}, nil, ""},
		{"named", []string{"web"}, []string{"web"}, nil, ""},
		{"named sharing an image", []string{"worker", "api"}, []string{"worker"}, nil, ""},
		{"named without build: warns", []string{"db", "web"}, []string{"web"},
			[]string{`service "db" has no build: section`}, ""},
		{"only without build: builds nothing", []string{"db"}, nil,
			[]string{`service "db" has no build: section`}, ""},
		{"unknown service", []string{"web", "ghost"}, nil, nil, "no such service: ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &specRecorder{}
			e, warnings := buildEngine(newImageStore(t), b)
			opts := build.Options{Progress: "quiet", NoCache: true, Args: map[string]string{"A": "1"}}
			res, err := e.Build(t.Context(), p, BuildRequest{Services: tt.services, Options: opts})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want one containing %q", err, tt.wantErr)
				}
				if b.calls != 0 {
					t.Errorf("built %v before failing", b.names())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.names(), tt.wantBuilt) {
				t.Errorf("built %v, want %v", b.names(), tt.wantBuilt)
			}
			if tt.wantBuilt == nil && b.calls != 0 {
				t.Errorf("builder called %d times with nothing to build", b.calls)
			}
			if tt.wantBuilt != nil && !reflect.DeepEqual(b.opts, opts) {
				t.Errorf("options %+v, want %+v", b.opts, opts)
			}
			if len(res) != len(tt.wantBuilt) {
				t.Errorf("results %v for builds %v", res, tt.wantBuilt)
			}
			if !matchAll(*warnings, tt.wantWarnings) {
				t.Errorf("warnings %q, want %q", *warnings, tt.wantWarnings)
			}
		})
	}
}

// matchAll reports whether each got contains its want, and there are as many.
func matchAll(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.Contains(got[i], want[i]) {
			return false
		}
	}
	return true
}

func TestEngineBuildSpecsOfSharedImage(t *testing.T) {
	// the spec built for a shared image carries its tags once, first the image name
	p := buildProject(buildService("a", withImage("example/shared")), buildService("b", withImage("example/shared")))
	b := &specRecorder{}
	e, _ := buildEngine(newImageStore(t), b)
	if _, err := e.Build(t.Context(), p, BuildRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(b.specs) != 1 || !reflect.DeepEqual(b.specs[0].Tags, []string{"docker.io/example/shared:latest"}) {
		t.Errorf("specs %+v", b.specs)
	}
}

func TestEngineBuildErrors(t *testing.T) {
	p := buildProject(buildService("web"), imageService("db", "postgres:17"))

	// no builder, something to build
	e, _ := buildEngine(newImageStore(t), nil)
	if _, err := e.Build(t.Context(), p, BuildRequest{}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("nil builder: %v", err)
	}
	// no builder, nothing to build: fine
	if res, err := e.Build(t.Context(), p, BuildRequest{Services: []string{"db"}}); err != nil || len(res) != 0 {
		t.Errorf("nil builder, nothing to build: %v, %v", res, err)
	}

	// a spec that cannot be made fails before any build
	bad := buildProject(buildService("web"), buildService("priv", func(s *types.ServiceConfig) { s.Build.Privileged = true }))
	b := &specRecorder{}
	e, _ = buildEngine(newImageStore(t), b)
	if _, err := e.Build(t.Context(), bad, BuildRequest{}); err == nil || !strings.Contains(err.Error(), "privileged") || b.calls != 0 {
		t.Errorf("privileged: err %v after %d builds", err, b.calls)
	}

	// the builder's error is the call's
	b = &specRecorder{err: &build.Error{Name: "web", Err: errors.New("exit code: 1")}}
	e, _ = buildEngine(newImageStore(t), b)
	if _, err := e.Build(t.Context(), p, BuildRequest{}); !build.IsBuildError(err) {
		t.Errorf("builder error lost: %v", err)
	}
}

// ---- up: buildForUp and needsPull ----

func TestBuildForUp(t *testing.T) {
	p := buildProject(buildService("web"), buildService("api"), imageService("db", "postgres:17"))
	tests := []struct {
		name  string
		req   UpRequest
		want  []string // built
		named []string // returned: built, or a dry run's would-build
	}{
		{"missing images", UpRequest{}, []string{"web"}, []string{"web"}},
		{"--build", UpRequest{Build: BuildAlways}, []string{"api", "web"}, []string{"api", "web"}},
		{"dry run builds nothing", UpRequest{Build: BuildAlways, DryRun: true}, nil, []string{"api", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &specRecorder{}
			e, _ := buildEngine(newImageStore(t, "proj-api"), b)
			tt.req.BuildOptions = build.Options{Pull: true}
			named, err := e.buildForUp(t.Context(), e.newImageCache(), p, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(named, tt.named) {
				t.Errorf("buildForUp named %v, want %v", named, tt.named)
			}
			if !reflect.DeepEqual(b.names(), tt.want) {
				t.Errorf("built %v, want %v", b.names(), tt.want)
			}
			if tt.want != nil && !b.opts.Pull {
				t.Errorf("up's build options not passed: %+v", b.opts)
			}
		})
	}
}

func TestNeedsPullNeverPullsBuiltServices(t *testing.T) {
	policies := []string{"", types.PullPolicyAlways, types.PullPolicyNever, types.PullPolicyMissing,
		types.PullPolicyBuild, types.PullPolicyIfNotPresent}
	for _, policy := range policies {
		for _, image := range []string{"", "example/web"} {
			t.Run(fmt.Sprintf("policy=%q,image=%q", policy, image), func(t *testing.T) {
				rt := newImageStore(t) // nothing present
				e, _ := buildEngine(rt, nil)
				s := buildService("web", withImage(image), withPullPolicy(policy))
				need, err := e.needsPull(t.Context(), e.newImageCache(), s, "example/web", policy)
				if need || err != nil {
					t.Errorf("service with build: needs pull %v, err %v; want false, nil", need, err)
				}
			})
		}
	}
}

func TestNeedsPullWithoutBuild(t *testing.T) {
	// the contrast: the same policies pull, or fail, for a service without build:
	tests := []struct {
		policy  string
		present bool
		want    bool
		wantErr string
	}{
		{types.PullPolicyAlways, true, true, ""},
		{types.PullPolicyMissing, false, true, ""},
		{types.PullPolicyMissing, true, false, ""},
		{types.PullPolicyNever, false, false, "pull_policy is never"},
		{types.PullPolicyBuild, true, false, "needs a build: section"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s,present=%v", tt.policy, tt.present), func(t *testing.T) {
			var present []string
			if tt.present {
				present = []string{"example/web"}
			}
			e, _ := buildEngine(newImageStore(t, present...), nil)
			need, err := e.needsPull(t.Context(), e.newImageCache(), imageService("web", "example/web"), "example/web", tt.policy)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || need != tt.want {
				t.Errorf("needs pull %v, err %v; want %v", need, err, tt.want)
			}
		})
	}
}

func TestBuildSpecExtraHostsOrderIsStable(t *testing.T) {
	// BuildKit copies add-hosts, in order, into every RUN's ExecOp, whose digest is
	// the step's cache key: an order that changes from run to run misses the cache.
	s := buildService("web", func(s *types.ServiceConfig) {
		s.Build.ExtraHosts = types.HostsList{"a": {"10.0.0.1"}, "b": {"10.0.0.2"}, "c": {"10.0.0.3"}, "d": {"10.0.0.4"}}
	})
	p := buildProject(s)
	first, err := BuildSpec(p, s)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		again, err := BuildSpec(p, s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.ExtraHosts, first.ExtraHosts) {
			t.Fatalf("extra hosts %v, then %v", first.ExtraHosts, again.ExtraHosts)
		}
	}
}
