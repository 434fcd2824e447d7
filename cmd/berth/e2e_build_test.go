package main

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/testenv"
)

// buildScope is the leak scope of a test that builds: berth's buildkitd keeps its
// state directory (the build cache's metadata) under the data root, as a daemon's
// state outlives one build; its leases and snapshots in containerd must not.
func (e *e2e) buildScope() testenv.LeakScope {
	s := e.leakScope()
	s.KeepState = []string{filepath.Join(e.dataRoot, e.namespace, "buildkit")}
	return s
}

const buildStack = `
name: bld
services:
  web:
    build:
      context: ./app
      args:
        GREETING: hi
      labels:
        com.example.built: "yes"
  other:
    image: berth-test/busybox:1
    command: ` + idle + `
`

const buildDockerfile = `FROM berth-test/busybox:1
ARG GREETING=hello
RUN echo "$GREETING from RUN" > /greeting
COPY . /app/
CMD ["sh", "-c", "cat /greeting /app/msg.txt; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
`

// imageOf returns ref's image, and whether it is present.
func (e *e2e) imageOf(ref string) (ctrd.ImageInfo, bool) {
	e.t.Helper()
	c := e.client()
	defer c.Close()
	info, err := c.ImageConfig(context.Background(), ref)
	if errors.Is(err, ctrd.ErrImageNotFound) {
		return info, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return info, true
}

// createdOf identifies the service's one container: its ID and creation time.
func (e *e2e) createdOf(service string) string {
	e.t.Helper()
	c := e.client()
	defer c.Close()
	infos, err := c.ListContainers(context.Background(), map[string]string{"com.docker.compose.service": service})
	if err != nil || len(infos) != 1 {
		e.t.Fatalf("containers of %s: %v %v", service, infos, err)
	}
	return infos[0].ID + "@" + infos[0].Created.String()
}

func (e *e2e) waitLogs(service, want string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		out = e.mustBerth("logs", "--no-log-prefix", service).stdout
		if strings.Contains(out, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("logs of %s lack %q:\n%s", service, want, out)
}

// assertNoLeakSoon is AssertNoLeak in the build scope, allowing containerd's garbage
// collector the moment it takes to remove the snapshots of deleted images.
func (e *e2e) assertNoLeakSoon(before testenv.HostState) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		diff := before.DiffIn(e.buildScope(), testenv.Snapshot(e.t, e.buildScope()))
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("host state changed:\n  %s", strings.Join(diff, "\n  "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestE2EBuild: up --build builds from a Dockerfile FROM a local image (RUN, COPY,
// ARG, .dockerignore), a second build is served from cache, a changed file rebuilds
// and recreates that service alone, down --rmi local removes the image and a full
// prune leaves no BuildKit lease or snapshot behind.
func TestE2EBuild(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", buildStack)
	e.writeFile("app/Dockerfile", buildDockerfile)
	e.writeFile("app/msg.txt", "v1\n")
	e.writeFile("app/secret.txt", "not for the image\n")
	e.writeFile("app/.dockerignore", "secret.txt\n")

	r := e.mustBerth("up", "-d", "--build")
	if !strings.Contains(r.stderr, "RUN echo") || !strings.Contains(r.stderr, "naming to docker.io/library/bld-web:latest") {
		t.Errorf("up --build shows no build progress:\n%s", r.stderr)
	}
	e.waitLogs("web", "hi from RUN\nv1")
	e.mustBerth("exec", "-T", "web", "test", "-f", "/app/msg.txt")
	if r := e.berth("exec", "-T", "web", "test", "-e", "/app/secret.txt"); r.code == 0 {
		t.Errorf(".dockerignore not honoured: /app/secret.txt is in the image")
	}
	img, ok := e.imageOf("bld-web")
	if !ok {
		t.Fatal("image bld-web not stored")
	}
	if img.Config.Labels["com.example.built"] != "yes" {
		t.Errorf("build label missing: %v", img.Config.Labels)
	}
	web, other := e.createdOf("web"), e.createdOf("other")

	// nothing changed: every step cached, same image, nothing recreated
	r = e.mustBerth("build")
	if !strings.Contains(r.stderr, "CACHED") || strings.Contains(r.stderr, "from RUN\n") {
		t.Errorf("second build not served from cache:\n%s", r.stderr)
	}
	if again, _ := e.imageOf("bld-web"); again.ID != img.ID {
		t.Errorf("cached rebuild changed the image: %s → %s", img.ID, again.ID)
	}
	e.mustBerth("up", "-d", "--build")
	if e.createdOf("web") != web || e.createdOf("other") != other {
		t.Errorf("up --build with nothing changed recreated a container")
	}

	// a copied file changes: web alone is rebuilt and recreated
	e.writeFile("app/msg.txt", "v2\n")
	if r := e.mustBerth("--dry-run", "up", "-d", "--build"); !strings.Contains(r.stdout, "would first build the images of: web") {
		t.Errorf("dry run of up --build does not name the build:\n%s", r.stdout)
	}
	e.mustBerth("up", "-d", "--build")
	if changed, _ := e.imageOf("bld-web"); changed.ID == img.ID {
		t.Errorf("changing a copied file did not change the image")
	}
	if e.createdOf("web") == web {
		t.Errorf("web was not recreated after its image changed")
	}
	if e.createdOf("other") != other {
		t.Errorf("other was recreated though its image did not change")
	}
	e.waitLogs("web", "v2")

	e.mustBerth("down", "--rmi", "local")
	if _, ok := e.imageOf("bld-web"); ok {
		t.Errorf("down --rmi local left the built image")
	}
	if _, ok := e.imageOf("berth-test/busybox:1"); !ok {
		t.Errorf("down --rmi local removed an image the file names with image:")
	}
	r = e.mustBerth("builder", "prune", "-a")
	if !strings.Contains(r.stdout, "Total reclaimed space") {
		t.Errorf("builder prune output: %s", r.stdout)
	}
	e.mustBerth("builder", "stop")
	e.assertNoLeakSoon(before)
}

// TestE2EBuildFailure: a failing RUN fails the build with the step, the Dockerfile
// line and the command's output, exit code 1, and up --build creates nothing.
func TestE2EBuildFailure(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", buildStack)
	e.writeFile("app/Dockerfile", "FROM berth-test/busybox:1\nRUN echo about to fail && exit 3\n")

	r := e.berth("build")
	if r.code != 1 {
		t.Fatalf("failing build: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"build web", "exit code: 3", ">>> RUN echo about to fail && exit 3", "about to fail"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("failing build's output lacks %q:\n%s", want, r.stderr)
		}
	}
	// quiet: the error itself carries the step's output
	r = e.berth("build", "-q")
	if r.code != 1 || !strings.Contains(r.stderr, "output:\nabout to fail") || !strings.Contains(r.stderr, "[2/2] RUN") {
		t.Errorf("quiet failing build: exit %d, want 1 and the step's output:\n%s", r.code, r.stderr)
	}

	r = e.berth("up", "-d", "--build")
	if r.code != 1 {
		t.Fatalf("up --build of a failing build: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if got := e.containers(); len(got) != 0 {
		t.Errorf("failed build created containers: %v", got)
	}
	if _, ok := e.imageOf("bld-web"); ok {
		t.Errorf("failed build stored an image")
	}
	e.mustBerth("builder", "prune", "-a")
	e.mustBerth("builder", "stop")
	testenv.AssertNoLeak(t, e.buildScope(), before)
}

// TestE2EBuildWithoutBuildkitd: no buildkitd is one clear line saying how to get it,
// exit 1, and nothing created.
func TestE2EBuildWithoutBuildkitd(t *testing.T) {
	e, before := startE2E(t)
	t.Setenv("BERTH_BUILDKITD", "/nonexistent/buildkitd")
	e.writeFile("compose.yaml", buildStack)
	e.writeFile("app/Dockerfile", buildDockerfile)
	r := e.berth("up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, "buildkitd not found") || !strings.Contains(r.stderr, "make runtime") {
		t.Errorf("up without buildkitd: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("want one line, got:\n%s", r.stderr)
	}
	// a buildkitd named by BUILDKIT_HOST is used as it is, never started by berth
	t.Setenv("BUILDKIT_HOST", "unix://"+filepath.Join(e.dataRoot, "nobody.sock"))
	r = e.berth("build")
	if r.code != 1 || !strings.Contains(r.stderr, "nobody.sock does not answer") || !strings.Contains(r.stderr, "unset BUILDKIT_HOST") {
		t.Errorf("build with an unreachable BUILDKIT_HOST: exit %d\n%s", r.code, r.stderr)
	}
	testenv.AssertNoLeak(t, e.buildScope(), before)
}

const buildOptionsStack = `
name: opts
services:
  app:
    build:
      context: ./ctx
      target: final
      network: none
      tags: ["opts-extra:1"]
      secrets: [token]
      cache_to: ["type=local,dest=./cache", "type=registry,ref=${REGISTRY}/cache/opts:app"]
      cache_from: ["${CACHE_FROM:-type=local,src=./cache}"]
      dockerfile_inline: |
        FROM berth-test/busybox:1 AS base
        ARG FLAVOR=default
        RUN echo "$${FLAVOR}" > /flavor
        RUN --mount=type=secret,id=token cp /run/secrets/token /token-seen
        RUN ls /sys/class/net > /nets
        FROM base AS other
        RUN touch /other-stage
        FROM base AS final
        CMD ["sh", "-c", "cat /flavor /token-seen /nets; ls /other-stage 2>&1 || true"]
  hosts:
    build:
      context: ./ctx
      extra_hosts: ["db.internal=10.89.250.1"]
      shm_size: 128m
      dockerfile_inline: |
        FROM berth-test/busybox:1
        RUN grep db.internal /etc/hosts > /hosts && df -k /dev/shm | tail -n 1 > /shm
        CMD ["cat", "/hosts", "/shm"]
secrets:
  token:
    file: ./token.txt
`

// cachedRun is the plain progress of the ARG step served from a cache.
var cachedRun = regexp.MustCompile(`RUN echo "from-cli" > /flavor\n#\d+ CACHED`)

// TestE2EBuildOptions: dockerfile_inline, target, network none, tags, build secrets,
// --build-arg, extra_hosts, shm_size, and cache_to / cache_from of the local and the
// registry types (a registry on 127.0.0.1), each checked in what the image holds.
func TestE2EBuildOptions(t *testing.T) {
	e, before := startE2E(t)
	reg := testenv.StartRegistry(t)
	t.Setenv("REGISTRY", reg.Host())
	t.Setenv("CACHE_FROM", "")
	e.writeFile("compose.yaml", buildOptionsStack)
	e.writeFile("ctx/empty", "")
	e.writeFile("token.txt", "s3cret-token\n")

	e.mustBerth("build", "--build-arg", "FLAVOR=from-cli")
	out := e.mustBerth("run", "--rm", "-T", "app").stdout
	for _, want := range []string{"from-cli\n", "s3cret-token\n", "lo\n", "No such file"} {
		if !strings.Contains(out, want) {
			t.Errorf("app image lacks %q (build-arg, secret, network none, target):\n%s", want, out)
		}
	}
	if strings.Contains(out, "eth") {
		t.Errorf("network: none build saw interfaces:\n%s", out)
	}
	if _, ok := e.imageOf("opts-extra:1"); !ok {
		t.Errorf("build.tags: opts-extra:1 not stored")
	}
	out = e.mustBerth("run", "--rm", "-T", "hosts").stdout
	if !strings.Contains(out, "10.89.250.1") || !strings.Contains(out, " 131072 ") {
		t.Errorf("hosts image: want the extra host and a 128 MiB /dev/shm:\n%s", out)
	}

	// the cache survives BuildKit's own: after a full prune, steps come from the local
	// cache export, then from the registry one
	for _, from := range []string{"type=local,src=./cache", "type=registry,ref=" + reg.Host() + "/cache/opts:app"} {
		e.mustBerth("builder", "prune", "-a")
		t.Setenv("CACHE_FROM", from)
		r := e.mustBerth("build", "--build-arg", "FLAVOR=from-cli", "app")
		if !strings.Contains(r.stderr, "importing cache manifest") || !cachedRun.MatchString(r.stderr) {
			t.Errorf("build after prune with cache_from %s did not use the cache:\n%s", from, r.stderr)
		}
	}
	// run created the project's network; down removes it, --rmi local the built images
	e.mustBerth("down", "--rmi", "local")
	e.mustBerth("builder", "prune", "-a")
	e.mustBerth("builder", "stop")
	if _, ok := e.imageOf("opts-app"); ok {
		t.Errorf("down --rmi local left opts-app")
	}
	// build.tags are the user's to remove, as with Compose
	c := e.client()
	if err := c.RemoveImage(context.Background(), "opts-extra:1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	e.assertNoLeakSoon(before)
}
