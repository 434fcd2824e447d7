package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a Debian docker-registry serving plain HTTP on 127.0.0.1 for one test.
type Registry struct {
	host    string
	logPath string
}

// registryConfig listens on loopback only and keeps blobs in the test's temp dir; no
// notifications, proxy or redis, so the registry itself contacts nobody.
const registryConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`

// loopbackTransport never uses a proxy: every request of this kit goes to 127.0.0.1.
var loopbackTransport = &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}

// StartRegistry runs `docker-registry serve` on a free 127.0.0.1 port, waits until /v2/
// answers and stops it when the test ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := requireCommand(t, "docker-registry", "apt-get install docker-registry")
	var lastErr error
	// A free port can be taken between our probe and the registry's bind: try again.
	for range 3 {
		r, err := startRegistry(t, bin)
		if err == nil {
			return r
		}
		lastErr = err
	}
	t.Fatalf("start registry: %v", lastErr)
	return nil
}

func startRegistry(t testing.TB, bin string) (*Registry, error) {
	host, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	storage := filepath.Join(dir, "storage")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, registryConfig, storage, host), 0o644); err != nil {
		return nil, err
	}
	r := &Registry{host: host, logPath: filepath.Join(dir, "registry.log")}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	exited, err := StartTied(cmd)
	if err != nil {
		return nil, err
	}
	if err := r.waitReady(t.Context(), exited); err != nil {
		stopProcess(cmd, exited)
		return nil, fmt.Errorf("%w\n%s", err, r.logTail())
	}
	t.Cleanup(func() { stopProcess(cmd, exited) })
	return r, nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady polls GET /v2/ against a deadline and gives up early if the registry exited.
func (r *Registry) waitReady(ctx context.Context, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	client := &http.Client{Transport: loopbackTransport, Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + r.host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("registry on %s exited: %v", r.host, err)
		case <-ctx.Done():
			return fmt.Errorf("registry on %s did not answer /v2/: %w", r.host, errors.Join(ctx.Err(), err))
		case <-tick.C:
		}
	}
}

// stopProcess asks the registry to stop, and kills it if it has not after 5 s.
func stopProcess(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (r *Registry) logTail() string {
	data, _ := os.ReadFile(r.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "registry log:\n" + strings.Join(lines, "\n")
}

// Host is the registry's "127.0.0.1:PORT", the prefix of references to its images.
func (r *Registry) Host() string { return r.host }

// Push uploads img as repoTag ("repo:tag" or "repo", which means latest) over plain HTTP
// and returns the full reference, "127.0.0.1:PORT/repo:tag".
func (r *Registry) Push(t testing.TB, img v1.Image, repoTag string) string {
	t.Helper()
	ref, err := name.NewTag(r.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatalf("push %q: %v", repoTag, err)
	}
	err = remote.Write(ref, img,
		remote.WithContext(t.Context()),
		remote.WithTransport(loopbackTransport),
		remote.WithAuth(authn.Anonymous))
	if err != nil {
		t.Fatalf("push %s: %v\n%s", ref, err, r.logTail())
	}
	// Spelled out because a Tag's String drops a defaulted ":latest".
	return fmt.Sprintf("%s/%s:%s", ref.RegistryStr(), ref.RepositoryStr(), ref.TagStr())
}

// StartTied starts cmd so that it dies with the test binary, even when the test is
// killed, and returns where Wait's result arrives. Pdeathsig fires when the starting
// *thread* exits, and in-process berth runs end threads (network namespace work locks
// them and lets them go): the process is started from a thread held until it exits.
func StartTied(cmd *exec.Cmd) (<-chan error, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started, exited := make(chan error, 1), make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}
