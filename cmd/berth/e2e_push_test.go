package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/testenv"
)

// TestE2EPush pushes a service's image to a registry on 127.0.0.1 and pulls it back in
// a fresh namespace: the registry serves the very image berth had, by digest.
func TestE2EPush(t *testing.T) {
	e := newE2E(t)
	reg := testenv.StartRegistry(t)
	ref := reg.Host() + "/shop/api:1"
	e.loadImage(testenv.BusyboxImage(t, testenv.WithFiles(map[string]testenv.File{
		"/www/index.html": {Content: []byte("pushed " + e.namespace), Mode: 0o644},
	})), ref)
	e.writeFile("compose.yaml", "name: shop\nservices:\n  api:\n    build: .\n    image: "+ref+"\n  db:\n    image: busybox\n")

	r := e.mustBerth("push")
	if !strings.Contains(r.stderr, "Image "+ref+" Pushed") || !strings.Contains(r.stderr, "Service db Skipped") {
		t.Errorf("push progress:\n%s", r.stderr)
	}
	local, err := e.client().ImageInfo(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if pulled := pullFresh(t, e.namespace+"-pull", ref); pulled != local.Digest {
		t.Errorf("digest pulled from the registry %s, want berth's %s", pulled, local.Digest)
	}

	// Every blob is there now: nothing is uploaded again.
	r = e.mustBerth("push", "-q", "api")
	if r.stderr != "" {
		t.Errorf("push -q printed:\n%s", r.stderr)
	}
	r = e.mustBerth("push", "api")
	if !strings.Contains(r.stderr, "Pushed up to date") {
		t.Errorf("second push:\n%s", r.stderr)
	}
}

// TestE2EPushMissingImage: an image that was never built fails the push, naming the
// image and what to do, unless push failures are ignored.
func TestE2EPushMissingImage(t *testing.T) {
	e := newE2E(t)
	reg := testenv.StartRegistry(t)
	ref := reg.Host() + "/shop/never-built:1"
	e.writeFile("compose.yaml", "name: shop\nservices:\n  api:\n    build: .\n    image: "+ref+"\n")
	r := e.berth("push")
	if r.code != 1 || !strings.Contains(r.stderr, ref) || !strings.Contains(r.stderr, "berth build") {
		t.Errorf("push of a missing image: exit %d\n%s", r.code, r.stderr)
	}
	r = e.berth("push", "--ignore-push-failures")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: push "+ref) {
		t.Errorf("push --ignore-push-failures: exit %d\n%s", r.code, r.stderr)
	}
}

// pullFresh pulls ref into a namespace of its own, removed at the end of the test, and
// returns the digest it got.
func pullFresh(t *testing.T, namespace, ref string) string {
	t.Helper()
	c, err := ctrd.Connect(t.Context(), ctrd.Options{Address: testenv.ContainerdAddress(), Namespace: namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.DeleteNamespace(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		c.Close()
	})
	info, err := c.Pull(t.Context(), ref, nil)
	if err != nil {
		t.Fatalf("pull %s in a fresh namespace: %v", ref, err)
	}
	return info.Digest
}

// TestE2EPushRegistry: push --registry pushes every built image under the registry,
// named as kube convert --registry names it in the manifests, and the registry serves
// the very image berth built.
func TestE2EPushRegistry(t *testing.T) {
	e := newE2E(t)
	reg := testenv.StartRegistry(t)
	// a build-only service is named <project>-<service> by berth build
	e.loadImage(testenv.BusyboxImage(t, testenv.WithFiles(map[string]testenv.File{
		"/www/index.html": {Content: []byte("registry " + e.namespace), Mode: 0o644},
	})), "shop-web")
	e.writeFile("compose.yaml", "name: shop\nservices:\n  web:\n    build: .\n  db:\n    image: busybox\n")

	registry := reg.Host() + "/team"
	r := e.mustBerth("push", "--registry", registry)
	want := registry + "/shop-web"
	if !strings.Contains(r.stderr, "Pushed") || !strings.Contains(r.stderr, "Service db Skipped") {
		t.Errorf("push --registry progress:\n%s", r.stderr)
	}
	local, err := e.client().ImageInfo(t.Context(), "shop-web")
	if err != nil {
		t.Fatal(err)
	}
	if pulled := pullFresh(t, e.namespace+"-pull", want); pulled != local.Digest {
		t.Errorf("digest pulled from %s: %s, want berth's %s", want, pulled, local.Digest)
	}
	out := e.mustBerth("kube", "convert", "--registry", registry, "-o", "-").stdout
	if !strings.Contains(out, "image: "+want+"\n") && !strings.Contains(out, "image: "+want+":latest") {
		t.Errorf("kube convert --registry does not name the pushed image %s:\n%s", want, out)
	}
}
