package ctrd_test

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/testenv"
)

// newClient connects to the real containerd in a namespace of the test's own
// and removes everything in it when the test ends. It skips without
// containerd outside CI and fails in CI.
func newClient(t *testing.T, edits ...func(*ctrd.Options)) *ctrd.Client {
	t.Helper()
	testenv.RequireRoot(t)
	address := testenv.ContainerdAddress()
	testenv.RequireContainerd(t, address)
	opts := ctrd.Options{
		Address:   address,
		Namespace: "berth-test-" + randomHex(t, 6),
		// Empty directories: the host's registry config and logins must not
		// change what a test sees.
		HostsDir:     t.TempDir(),
		DockerConfig: t.TempDir(),
	}
	for _, edit := range edits {
		edit(&opts)
	}
	c, err := ctrd.Connect(t.Context(), opts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DeleteNamespace(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return c
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// uniqueFiles returns a layer's files whose content no other test shares, so
// that a first pull really downloads it even if containerd holds the base.
func uniqueFiles(t *testing.T, path string) testenv.ImageOption {
	return testenv.WithFiles(map[string]testenv.File{path: {Content: []byte(randomHex(t, 4096))}})
}

// recorder is a progress.Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []progress.Event
}

func (r *recorder) Event(e progress.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// of returns the events of one ID in order.
func (r *recorder) of(id string) []progress.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []progress.Event
	for _, e := range r.events {
		if e.ID == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) last(t *testing.T, id string) progress.Event {
	t.Helper()
	events := r.of(id)
	if len(events) == 0 {
		t.Fatalf("no progress event for %q", id)
	}
	return events[len(events)-1]
}

// blobCounter is a reverse proxy in front of a registry that counts blob
// downloads, to prove what a pull did or did not fetch.
type blobCounter struct {
	host  string
	blobs atomic.Int64
}

type proxyOptions struct {
	// delay slows every 32 KiB of a response, so that a pull lasts long enough to watch.
	delay time.Duration
	// user and password, when set, are required as HTTP basic auth, as a
	// registry with an htpasswd file does.
	user, password string
}

func countBlobs(t *testing.T, registryHost string, delay time.Duration) *blobCounter {
	t.Helper()
	return startProxy(t, registryHost, proxyOptions{delay: delay})
}

func startProxy(t *testing.T, registryHost string, opts proxyOptions) *blobCounter {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: registryHost}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{Proxy: nil}
	if opts.delay > 0 {
		proxy.ModifyResponse = func(resp *http.Response) error {
			resp.Body = &slowBody{ReadCloser: resp.Body, delay: opts.delay}
			return nil
		}
	}
	bc := &blobCounter{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, password, _ := r.BasicAuth(); user != opts.user || password != opts.password {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			bc.blobs.Add(1)
		}
		proxy.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	bc.host = l.Addr().String()
	return bc
}

type slowBody struct {
	io.ReadCloser
	delay time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	time.Sleep(b.delay)
	return b.ReadCloser.Read(p[:min(len(p), 32<<10)])
}

// contentSize is what a first pull of img downloads: manifest, config, layers.
func contentSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	total := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func manifestDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// ctrList lists objects of a namespace with containerd's own CLI, a view
// that does not go through the code under test.
func ctrList(t *testing.T, namespace string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("ctr", append([]string{"--address", testenv.ContainerdAddress(), "--namespace", namespace}, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERD_NAMESPACE="+namespace)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Fields(string(out))
}

// tarDir writes dir's tree as a tar with paths relative to dir.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		return err
	}
	return tw.Close()
}
