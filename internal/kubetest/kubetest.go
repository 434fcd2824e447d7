// Package kubetest is the test-only kit of berth's Kubernetes tests: it runs a real
// control plane on 127.0.0.1 for one test — etcd, kube-apiserver and
// kube-controller-manager built by scripts/install-kube-test.sh — and stands in for the
// kubelet, which Kubernetes 1.37 cannot run on containerd 1.x: a fake Node, pods marked
// Ready, Succeeded or Failed by patching their status (as KWOK does), their deletion
// confirmed, and their logs served from memory.
//
// The controller manager is part of it because berth's behaviour depends on it: its
// garbage collector completes foreground deletion and its PVC-protection controller
// removes the claims' finalizer, so without it `kube down` never finishes; it also
// creates ReplicaSets and Pods, Job pods, and each namespace's default ServiceAccount.
//
// Under `go test -short` the tests skip. Outside CI missing binaries skip the test with
// the command that installs them; with CI=true they fail.
package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/internal/testenv"
)

// Version is the Kubernetes release the kit runs; keep in step with
// scripts/install-kube-test.sh and tools/kube/go.mod.
const Version = "v1.37.2"

// binaries are the programs the kit runs, all found in BinDir.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// BinDir is where scripts/install-kube-test.sh puts the control plane:
// $BERTH_KUBE_DIR, or /var/cache/berth/kube/<Version>.
func BinDir() string {
	if dir := os.Getenv("BERTH_KUBE_DIR"); dir != "" {
		return dir
	}
	return filepath.Join("/var/cache/berth/kube", Version)
}

// Cluster is a running control plane. Its admin credentials (system:masters) are for
// setting up and inspecting a test; code under test should get a token bound to the
// Role it documents, from UserForRole.
type Cluster struct {
	// Kubeconfig is the path of the admin kubeconfig.
	Kubeconfig string
	// Config and Client are the admin's.
	Config *rest.Config
	Client kubernetes.Interface
	// Host is the API server's URL, https://127.0.0.1:PORT.
	Host string
	// NodeName is the fake Node pods are bound to when they are marked.
	NodeName string

	dir     string
	caCert  []byte
	kubelet *fakeKubelet
	procs   []*process
}

// Start runs a control plane for t and stops and removes it when t ends. A test that
// needs several independent projects should share one cluster and use a namespace each
// (CreateNamespace): a start costs about 5-10 s and 300 MB.
func Start(t testing.TB) *Cluster {
	t.Helper()
	dir := RequireBinaries(t)
	var lastErr error
	// A free port can be taken between our probe and etcd's or the API server's bind.
	for range 3 {
		c, err := start(t, dir)
		if err == nil {
			return c
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start kubernetes control plane: %v", lastErr)
	return nil
}

// RequireBinaries stops the test unless the control plane's binaries are installed,
// and returns their directory. Under -short it always skips: these tests start daemons.
func RequireBinaries(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane; skipped with -short")
	}
	dir := BinDir()
	for _, name := range binaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			msg := fmt.Sprintf("test needs %s in %s (run scripts/install-kube-test.sh, or set BERTH_KUBE_DIR)", name, dir)
			if testenv.InCI() {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// start brings the components up one after the other, each waited for; a failure
// half-way stops what started, success leaves the stop to t's end.
func start(t testing.TB, binDir string) (_ *Cluster, err error) {
	dir, err := os.MkdirTemp("", "berth-kubetest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, NodeName: "berth-node"}
	defer func() {
		if err != nil {
			c.stop()
		} else {
			t.Cleanup(c.stop)
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	p, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	c.caCert = p.caCert
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	etcdURL, err := c.startEtcd(ctx, binDir, ports[0], ports[1])
	if err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, binDir, p, etcdURL, ports[2]); err != nil {
		return nil, err
	}
	if err := c.registerNode(ctx, p); err != nil {
		return nil, err
	}
	if err := c.startControllerManager(ctx, binDir, p); err != nil {
		return nil, err
	}
	return c, nil
}

// stop ends the fake kubelet, then the processes in reverse start order, and removes
// the directory with the data, keys and logs.
func (c *Cluster) stop() {
	if c.kubelet != nil {
		c.kubelet.stop()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	_ = os.RemoveAll(c.dir)
}

// Logs returns the tail of every component's log, for a failing test's message.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, p := range c.procs {
		b.WriteString(p.logTail())
		b.WriteString("\n")
	}
	return b.String()
}

// CreateNamespace creates a namespace (a generated name when name is empty) and waits
// until the controller manager has given it its default ServiceAccount, without which
// the API server refuses pods. The namespace is deleted when t ends.
func (c *Cluster) CreateNamespace(t testing.TB, name string) string {
	t.Helper()
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if name == "" {
		ns.GenerateName = "berth-test-"
	}
	created, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %q: %v", name, err)
	}
	name = created.Name
	t.Cleanup(func() {
		err := c.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("delete namespace %s: %v", name, err)
		}
	})
	err = poll(ctx, 30*time.Second, func() (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, ignoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("namespace %s: no default ServiceAccount: %v\n%s", name, err, c.Logs())
	}
	return name
}

// poll calls ready every 100 ms until it returns true or timeout passes. An error does
// not stop it (the thing waited for may not answer yet) unless it is a stopError; the
// last one is returned with the timeout.
func poll(ctx context.Context, timeout time.Duration, ready func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ok, err := ready()
		if ok {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// stopError ends a poll at once: what it waits for can no longer happen.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
