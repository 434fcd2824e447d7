package network

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inCI reports env CI=true, where a missing prerequisite fails instead of skipping.
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// requireE2E stops the test unless the host can run CNI: root, the plugins, iptables.
func requireE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e test: skipped with -short")
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := FindCNIPath(""); err != nil {
		missing = append(missing, err.Error())
	}
	for _, cmd := range []string{"iptables", "iptables-save", "ip6tables", "ip6tables-save", "ip"} {
		if _, err := exec.LookPath(binary(false, cmd)); err != nil {
			missing = append(missing, cmd)
		}
	}
	if len(missing) == 0 {
		serializeE2E(t)
		return
	}
	msg := fmt.Sprintf("e2e test needs %s (run scripts/install-runtime.sh as root)", strings.Join(missing, ", "))
	if inCI() {
		t.Fatalf("%s (CI=true: failing instead of skipping)", msg)
	}
	t.Skip(msg)
}

// serializeE2E holds the host-wide e2e lock for the rest of the test. The tests compare
// the whole host (links, iptables, CNI's cache) before and after, so an e2e test of
// another package running at the same time would show up as a leak; every package whose
// e2e tests touch host networking should take the same lock.
func serializeE2E(t *testing.T) {
	t.Helper()
	unlock, err := lockHost("e2e.lock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
}

var warmUpOnce sync.Once

// warmUp runs one full cycle before the first snapshot: iptables-nft creates its tables
// and the plugins their shared chains on first use and leave them (they are shared with
// every CNI user), so only from then on is "as before" a fair test.
func warmUp(t *testing.T) {
	t.Helper()
	warmUpOnce.Do(func() {
		m := newManager(t)
		// Both families, masquerading, a port on all addresses, an internal network:
		// every table and shared chain any test below touches.
		n := ensure(t, m, Spec{Name: "warm-up", EnableIPv6: true})
		i := ensure(t, m, Spec{Name: "warm-up-internal", Internal: true, EnableIPv6: true})
		id := uniqueID("warm")
		path := createNetNS(t, m, id)
		req := AttachRequest{ContainerID: id, Networks: []Attachment{{Network: n.Name}, {Network: i.Name}},
			Ports: []PortMapping{{ContainerPort: 80}}}
		if _, _, err := m.Attach(t.Context(), path, req); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
		if err := m.Detach(t.Context(), path, req); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
		for _, name := range []string{n.Name, i.Name} {
			if err := m.Remove(t.Context(), name); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
	})
}

// newManager makes a manager of a fresh data root, with the backend that
// BERTH_NETWORK_BACKEND names (as berth reads it), native by default.
func newManager(t *testing.T) *Manager {
	t.Helper()
	m, err := NewManager(Config{DataRoot: t.TempDir(), Backend: Backend(os.Getenv("BERTH_NETWORK_BACKEND"))})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ensure(t *testing.T, m *Manager, spec Spec) Network {
	t.Helper()
	n, err := m.Ensure(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), spec.Name) })
	return n
}

func createNetNS(t *testing.T, m *Manager, id string) string {
	t.Helper()
	path, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.deleteNetNS(path) })
	return path
}

// attach attaches a fresh netns and registers its Detach as a cleanup.
func attach(t *testing.T, m *Manager, req AttachRequest) (string, []Interface, []PortMapping) {
	t.Helper()
	path := createNetNS(t, m, req.ContainerID)
	ifaces, ports, err := m.Attach(t.Context(), path, req)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.Context(): it is cancelled before cleanups run.
	t.Cleanup(func() { _ = m.Detach(context.Background(), path, req) })
	return path, ifaces, ports
}

// uniqueID is a container ID no other test, here or in another package, uses: CNI's
// loopback result cache is keyed by container ID alone.
func uniqueID(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// snapshot is the host state a test must leave as it found it.
type snapshot map[string][]string

var countersRE = regexp.MustCompile(`\[[0-9]+:[0-9]+\]`)

func takeSnapshot(t *testing.T, m *Manager) snapshot {
	t.Helper()
	s := snapshot{}
	s["links"] = links(t)
	s["ip netns list"] = commandLines(t, "ip", "netns", "list")
	for _, v6 := range []bool{false, true} {
		for _, table := range []string{"filter", "nat", "mangle"} {
			name := binary(v6, "iptables-save") + " -t " + table
			var lines []string
			for _, l := range commandLines(t, binary(v6, "iptables-save"), "-t", table) {
				if !strings.HasPrefix(l, "#") {
					lines = append(lines, countersRE.ReplaceAllString(l, ""))
				}
			}
			s[name] = lines
		}
	}
	s["data root"] = listFiles(t, m.dir)
	s["berth netns"] = listFiles(t, m.netnsDir)
	s["CNI results"] = listFiles(t, "/var/lib/cni/results")
	s["port reservations"] = reservations(t, m)
	return s
}

// links lists the host's links by name, type and master: their flags, carrier and the
// bridges' MAC addresses change as ports come and go, and are not what leaks.
func links(t *testing.T) []string {
	t.Helper()
	all, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	names := map[int]string{}
	for _, l := range all {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	var out []string
	for _, l := range all {
		out = append(out, fmt.Sprintf("%s type %s master %q", l.Attrs().Name, l.Type(), names[l.Attrs().MasterIndex]))
	}
	return out
}

// reservations lists the port reservations that m's containers own.
func reservations(t *testing.T, m *Manager) []string {
	t.Helper()
	entries, err := os.ReadDir(portsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		owner, err := os.ReadFile(filepath.Join(portsDir, e.Name()))
		if err == nil && strings.HasPrefix(string(owner), m.dir+"/") {
			out = append(out, e.Name()+" "+string(owner))
		}
	}
	return out
}

func commandLines(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// listFiles lists a tree with the sizes of its files. Lock files and host-local's
// last_reserved_ip bookkeeping are not state; its leases (files named by address) are.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Name() == "lock" || strings.HasPrefix(d.Name(), "last_reserved_ip.") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := ""
		if !d.IsDir() {
			size = " " + strconv.FormatInt(info.Size(), 10)
		}
		out = append(out, strings.TrimPrefix(path, dir)+size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireSameHost fails with the differing lines when the host state changed.
func requireSameHost(t *testing.T, before, after snapshot) {
	t.Helper()
	for what, b := range before {
		a := after[what]
		if slices.Equal(a, b) {
			continue
		}
		var gone, added []string
		for _, l := range b {
			if !slices.Contains(a, l) {
				gone = append(gone, l)
			}
		}
		for _, l := range a {
			if !slices.Contains(b, l) {
				added = append(added, l)
			}
		}
		t.Errorf("%s changed\n  left behind: %q\n  gone: %q\n  (order may differ too)", what, added, gone)
	}
}

// inNetNS runs fn on a thread that has joined the namespace. The thread is never
// unlocked, so the runtime retires it rather than reuse it in the wrong namespace.
func inNetNS(t *testing.T, path string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}

// serve listens on port in the namespace and answers every connection with greeting;
// sockets keep the namespace they were made in. Close the listener before the
// namespace goes: it keeps the namespace, and so its veth, alive.
func serve(t *testing.T, path, network string, port int, greeting string) net.Listener {
	t.Helper()
	var l net.Listener
	listen := func() (err error) {
		l, err = net.Listen(network, net.JoinHostPort("", strconv.Itoa(port)))
		return err
	}
	if err := inNetNS(t, path, listen); err != nil {
		t.Fatalf("listen in %s: %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, greeting)
			c.Close()
		}
	}()
	return l
}

// dial connects from the namespace at path ("" for the host) and returns the greeting.
func dial(t *testing.T, path string, addr netip.AddrPort) (string, error) {
	t.Helper()
	var c net.Conn
	connect := func() (err error) {
		c, err = net.DialTimeout("tcp", addr.String(), 700*time.Millisecond)
		return err
	}
	var err error
	if path == "" {
		err = connect()
	} else {
		err = inNetNS(t, path, connect)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// routes lists the namespace's IPv4 routes as "dst via gw dev".
func routes(t *testing.T, path string) []string {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rs, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		dst := "default"
		if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" {
			dst = r.Dst.String()
		}
		link, err := h.LinkByIndex(r.LinkIndex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s via %v dev %s", dst, r.Gw, link.Attrs().Name))
	}
	return out
}
