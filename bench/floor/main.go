// floor measures the raw cost of what `berth up -d` and `berth down` do, done directly
// through the containerd client and go-cni with nothing else around it: for each of N
// containers a named network namespace, CNI ADD of the full chain (bridge + host-local
// + portmap + firewall + tuning) on one bridge, the container with its snapshot and a
// started task; then task kill (SIGKILL) and delete, CNI DEL, namespace delete and
// container delete with its snapshot, and at the end the bridge and the isolation rules
// that CNI DEL leaves, as berth's down removes its network. It prints the elapsed times
// as one JSON line.
//
// It is a measuring program, not part of berth: bench/run compares berth against it.
//
//	floor -image docker.io/berth-bench/busybox:latest -n 10 [-serial]
//	floor -cleanup      # remove every container, image and the namespace itself
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

type options struct {
	address, namespace, image, cniPath, snapshotter string
	subnet, bridge, command, backend                string
	n                                               int
	serial, cleanup                                 bool
}

// result is what bench/run reads.
type result struct {
	N      int     `json:"n"`
	Serial bool    `json:"serial"`
	UpMS   float64 `json:"up_ms"`
	DownMS float64 `json:"down_ms"`
	// CPU time (user+sys) of the floor and of the children it waited for (the CNI
	// plugins and their iptables), as bench/run measures berth's.
	UpCPUMS   float64 `json:"up_cpu_ms"`
	DownCPUMS float64 `json:"down_cpu_ms"`
}

func main() {
	var o options
	flag.StringVar(&o.address, "address", "/run/containerd/containerd.sock", "containerd socket")
	flag.StringVar(&o.namespace, "namespace", "berth-bench", "containerd namespace")
	flag.StringVar(&o.image, "image", "docker.io/berth-bench/busybox:latest", "image, already in the namespace")
	flag.StringVar(&o.cniPath, "cni-path", "/usr/lib/cni", "CNI plugin directory")
	flag.StringVar(&o.snapshotter, "snapshotter", "overlayfs", "snapshotter")
	flag.StringVar(&o.subnet, "subnet", "10.99.7.0/24", "the bridge's subnet (inside 10.99.0.0/16)")
	flag.StringVar(&o.bridge, "bridge", "bbfloor0", "bridge name")
	flag.StringVar(&o.command, "command", "seq 1 20; trap 'exit 0' TERM; sleep 3600 & wait", "sh -c command of every container")
	flag.StringVar(&o.backend, "backend", "cni", "how the containers are networked: cni (the plugins through go-cni) or native (netlink and iptables-restore)")
	flag.IntVar(&o.n, "n", 1, "number of containers")
	flag.BoolVar(&o.serial, "serial", false, "start the containers one after the other")
	flag.BoolVar(&o.cleanup, "cleanup", false, "remove everything in the namespace, then the namespace")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	client, err := containerd.New(o.address)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := namespaces.WithNamespace(context.Background(), o.namespace)
	if o.cleanup {
		return cleanNamespace(ctx, client, o.namespace)
	}
	tmp, err := os.MkdirTemp("", "berth-floor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	f := &floor{o: o, client: client, tmp: tmp}
	switch o.backend {
	case "cni":
		cni, err := loadCNI(o, filepath.Join(tmp, "ipam"))
		if err != nil {
			return err
		}
		f.net = &cniNet{o: o, cni: cni}
	case "native":
		f.net, err = newNativeNet(o)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("-backend %q: cni or native", o.backend)
	}
	defer func() { _ = f.net.finish() }() // after a failure; idempotent
	img, err := client.GetImage(ctx, o.image)
	if err != nil {
		return fmt.Errorf("image %s: %w", o.image, err)
	}
	f.img = img
	ids := make([]string, o.n)
	for i := range ids {
		ids[i] = fmt.Sprintf("floor-%d", i+1)
	}
	start, cpu0 := time.Now(), cpuTime()
	upErr := f.net.start()
	if upErr == nil {
		upErr = f.each(ctx, ids, f.up)
	}
	up, cpu1 := time.Since(start), cpuTime()
	start = time.Now()
	downErr := f.each(ctx, ids, f.down)
	if downErr == nil {
		downErr = f.net.finish()
	}
	down, cpu2 := time.Since(start), cpuTime()
	if err := errors.Join(upErr, downErr); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(result{N: o.n, Serial: o.serial, UpMS: ms(up), DownMS: ms(down),
		UpCPUMS: ms(cpu1 - cpu0), DownCPUMS: ms(cpu2 - cpu1)})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the user+sys time of this process and of its waited-for children.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

func loadCNI(o options, ipamDir string) (gocni.CNI, error) {
	conf := fmt.Sprintf(`{
  "cniVersion": "1.0.0", "name": "berth-floor",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "isDefaultGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
    {"type": "firewall", "backend": "iptables", "ingressPolicy": "same-bridge"},
    {"type": "tuning"}
  ]
}`, o.bridge, ipamDir, o.subnet)
	cni, err := gocni.New(gocni.WithPluginDir([]string{o.cniPath}), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, err
	}
	if err := cni.Load(gocni.WithConfListBytes([]byte(conf)), gocni.WithLoNetwork); err != nil {
		return nil, fmt.Errorf("load CNI config: %w", err)
	}
	return cni, nil
}

// netBackend is how the floor networks its containers.
type netBackend interface {
	// start is what comes before the first container: the network.
	start() error
	setup(ctx context.Context, id, nsPath string) error
	teardown(ctx context.Context, id, nsPath string) error
	// finish removes the network after the last container; it is idempotent.
	finish() error
}

type floor struct {
	o      options
	client *containerd.Client
	net    netBackend
	img    containerd.Image
	tmp    string

	mu  sync.Mutex
	nss map[string]string
}

// each runs fn for every ID, all at once or one after the other.
func (f *floor) each(ctx context.Context, ids []string, fn func(context.Context, string) error) error {
	if f.o.serial {
		for _, id := range ids {
			if err := fn(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = fn(ctx, id) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (f *floor) up(ctx context.Context, id string) error {
	ns, err := newNetNS(filepath.Join(f.tmp, "netns", id))
	if err != nil {
		return fmt.Errorf("%s: netns: %w", id, err)
	}
	f.mu.Lock()
	if f.nss == nil {
		f.nss = map[string]string{}
	}
	f.nss[id] = ns
	f.mu.Unlock()
	if err := f.net.setup(ctx, id, ns); err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	ctr, err := f.client.NewContainer(ctx, id,
		containerd.WithImage(f.img),
		containerd.WithSnapshotter(f.o.snapshotter),
		containerd.WithNewSnapshot(id, f.img),
		containerd.WithNewSpec(
			oci.WithImageConfig(f.img),
			oci.WithProcessArgs("sh", "-c", f.o.command),
			oci.WithHostname(id),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns}),
			seccomp.WithDefaultProfile(),
		),
	)
	if err != nil {
		return fmt.Errorf("%s: create container: %w", id, err)
	}
	task, err := ctr.NewTask(ctx, cio.LogFile(filepath.Join(f.tmp, id+".log")))
	if err != nil {
		return fmt.Errorf("%s: create task: %w", id, err)
	}
	if err := task.Start(ctx); err != nil {
		return fmt.Errorf("%s: start task: %w", id, err)
	}
	return nil
}

func (f *floor) down(ctx context.Context, id string) error {
	ctr, err := f.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", id, err)
	}
	if task, err := ctr.Task(ctx, nil); err == nil {
		exited, err := task.Wait(ctx)
		if err != nil {
			return fmt.Errorf("%s: wait task: %w", id, err)
		}
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("%s: kill task: %w", id, err)
		}
		<-exited
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("%s: delete task: %w", id, err)
		}
	}
	f.mu.Lock()
	ns := f.nss[id]
	f.mu.Unlock()
	if ns != "" {
		if err := f.net.teardown(ctx, id, ns); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if err := removeNetNS(ns); err != nil {
			return fmt.Errorf("%s: delete netns: %w", id, err)
		}
	}
	if err := ctr.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return fmt.Errorf("%s: delete container: %w", id, err)
	}
	return nil
}

// newNetNS creates a named network namespace: a new one unshared on a locked thread
// (which the runtime then discards) and bind-mounted on path, as `ip netns add` does.
func newNetNS(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- unix.Mount(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), path, "none", unix.MS_BIND, "")
	}()
	if err := <-done; err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

func removeNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		return err
	}
	return os.Remove(path)
}

// cniNet is the CNI chain through go-cni, as berth's CNI backend runs it.
type cniNet struct {
	o   options
	cni gocni.CNI
}

// start does nothing: the bridge plugin creates the bridge on the first ADD.
func (c *cniNet) start() error { return nil }

func (c *cniNet) setup(ctx context.Context, id, ns string) error {
	if _, err := c.cni.Setup(ctx, id, ns); err != nil {
		return fmt.Errorf("CNI ADD: %w", err)
	}
	return nil
}

func (c *cniNet) teardown(ctx context.Context, id, ns string) error {
	if err := c.cni.Remove(ctx, id, ns); err != nil {
		return fmt.Errorf("CNI DEL: %w", err)
	}
	return nil
}

// finish removes what CNI DEL leaves: the bridge and the firewall plugin's isolation
// rules that name it. It is part of the timed down, as berth's down removes its
// network too: one netlink call, and the rules read with one iptables-save and
// deleted with one iptables-restore, the cheapest way there is with the iptables
// binaries.
func (c *cniNet) finish() error {
	if err := deleteLink(c.o.bridge); err != nil {
		return err
	}
	out, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		return fmt.Errorf("iptables-save: %w", err)
	}
	var batch strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		if isolationRuleOf(line, c.o.bridge) {
			// iptables-save's quoting is iptables-restore's
			batch.WriteString("-D " + strings.TrimPrefix(line, "-A ") + "\n")
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	cmd := exec.Command("iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader("*filter\n" + batch.String() + "COMMIT\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s", err, out)
	}
	return nil
}

// deleteLink deletes a link; a missing one is success.
func deleteLink(name string) error {
	if link, err := netlink.LinkByName(name); err == nil {
		if err := netlink.LinkDel(link); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	return nil
}

// isolationRuleOf reports whether an iptables-save line is an isolation rule of bridge.
func isolationRuleOf(line, bridge string) bool {
	return (strings.HasPrefix(line, "-A CNI-ISOLATION-STAGE-1 ") || strings.HasPrefix(line, "-A CNI-ISOLATION-STAGE-2 ")) &&
		strings.Contains(line, " "+bridge+" ")
}

// cleanNamespace removes whatever is left in the namespace, then the namespace.
func cleanNamespace(ctx context.Context, client *containerd.Client, namespace string) error {
	ctrs, err := client.Containers(ctx)
	if err != nil {
		return err
	}
	for _, ctr := range ctrs {
		if task, err := ctr.Task(ctx, nil); err == nil {
			_, _ = task.Delete(ctx, containerd.WithProcessKill)
		}
		_ = ctr.Delete(ctx, containerd.WithSnapshotCleanup)
	}
	imgs, err := client.ImageService().List(ctx)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if err := client.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete image %s: %w", img.Name, err)
		}
	}
	leases, err := client.LeasesService().List(ctx)
	if err == nil {
		for _, l := range leases {
			_ = client.LeasesService().Delete(ctx, l)
		}
	}
	var last error
	for range 20 {
		if last = client.NamespaceService().Delete(ctx, namespace); last == nil || errdefs.IsNotFound(last) {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("delete namespace %s: %w", namespace, last)
}
