package dns

import (
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/network"
	"github.com/gofrs/flock"
	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

// The e2e test needs root, the CNI plugins, iptables, nsenter and busybox. It sends
// queries only to the gateways of the networks it creates; the responder forwards
// only to a stub resolver on 127.0.0.1.

func requireE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e test: skipped with -short")
	}
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if _, err := network.FindCNIPath(""); err != nil {
		missing = append(missing, err.Error())
	}
	for _, cmd := range []string{"iptables", "iptables-save", "ip6tables", "ip6tables-save", "ip", "nsenter", "/bin/busybox"} {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("e2e test needs %s (run scripts/install-runtime.sh as root; busybox-static for /bin/busybox)", strings.Join(missing, ", "))
		if ci, err := strconv.ParseBool(os.Getenv("CI")); err == nil && ci {
			t.Fatalf("%s (CI=true: failing instead of skipping)", msg)
		}
		t.Skip(msg)
	}
	// The host-wide e2e lock of package network's tests: the before/after comparison
	// must not see another package's networks come and go.
	fl := flock.New("/run/berth/e2e.lock")
	if err := os.MkdirAll("/run/berth", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fl.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fl.Unlock() })
}

func uniqueID(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

type e2e struct {
	t *testing.T
	m *network.Manager
}

func (e e2e) ensure(spec network.Spec) network.Network {
	e.t.Helper()
	n, err := e.m.Ensure(e.t.Context(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = e.m.Remove(context.Background(), spec.Name) })
	return n
}

// attach gives a new netns an interface on each network, with the same names on each.
func (e e2e) attach(prefix string, names []string, nets ...network.Network) container {
	e.t.Helper()
	c := container{req: network.AttachRequest{ContainerID: uniqueID(prefix)}}
	for _, n := range nets {
		c.req.Networks = append(c.req.Networks, network.Attachment{Network: n.Name, Aliases: names})
	}
	var err error
	if c.path, err = e.m.CreateNetNS(c.req.ContainerID); err != nil {
		e.t.Fatal(err)
	}
	c.ifaces, _, err = e.m.Attach(e.t.Context(), c.path, c.req)
	e.t.Cleanup(func() { _ = e.m.Detach(context.Background(), c.path, c.req) })
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e e2e) detach(path string, req network.AttachRequest) {
	e.t.Helper()
	if err := e.m.Detach(e.t.Context(), path, req); err != nil {
		e.t.Fatal(err)
	}
}

// warmUp runs one full cycle before the first snapshot: iptables-nft creates its tables
// and the plugins their shared chains on first use, and leave them.
func warmUp(t *testing.T) {
	t.Helper()
	m, err := network.NewManager(network.Config{DataRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := e2e{t, m}
	n := e.ensure(network.Spec{Name: "warm-up", EnableIPv6: true})
	i := e.ensure(network.Spec{Name: "warm-up-internal", Internal: true, EnableIPv6: true})
	c := e.attach("warm", nil, n, i)
	e.detach(c.path, c.req)
	for _, name := range []string{n.Name, i.Name} {
		if err := m.Remove(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
}

var countersRE = regexp.MustCompile(`\[[0-9]+:[0-9]+\]`)

// snapshot is the host state the test must leave as it found it.
func snapshot(t *testing.T, dataRoot string) map[string][]string {
	t.Helper()
	s := map[string][]string{}
	s["links"] = lines(t, "ip", "-o", "link", "show")
	for i, l := range s["links"] {
		// Keep "N: name@peer:" only: flags and counters change as ports come and go.
		f := strings.Fields(l)
		s["links"][i] = f[1]
	}
	s["ip netns list"] = lines(t, "ip", "netns", "list")
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		for _, table := range []string{"filter", "nat", "mangle"} {
			var out []string
			for _, l := range lines(t, save, "-t", table) {
				if !strings.HasPrefix(l, "#") {
					out = append(out, countersRE.ReplaceAllString(l, ""))
				}
			}
			s[save+" -t "+table] = out
		}
	}
	s["data root"] = files(t, dataRoot)
	s["berth netns"] = files(t, "/run/berth/netns")
	s["CNI results"] = files(t, "/var/lib/cni/results")
	return s
}

func lines(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func files(t *testing.T, dir string) []string {
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
		out = append(out, strings.TrimPrefix(path, dir))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func requireSameHost(t *testing.T, before, after map[string][]string) {
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
		t.Errorf("%s changed\n  left behind: %q\n  gone: %q", what, added, gone)
	}
}

// inNetNS runs fn on a thread that has joined the namespace; the thread is never
// unlocked, so the runtime retires it instead of reusing it in the wrong namespace.
func inNetNS(path string, fn func() error) error {
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

// resolveIn asks the resolver at server from inside the namespace.
func resolveIn(t *testing.T, path string, server netip.Addr, name string, qtype uint16, tcp bool) *dns.Msg {
	t.Helper()
	var resp *dns.Msg
	err := inNetNS(path, func() (err error) {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		if tcp {
			c.Net = "tcp"
		}
		resp, _, err = c.Exchange(query(name, qtype), netip.AddrPortFrom(server, 53).String())
		return err
	})
	if err != nil {
		t.Fatalf("%s %s from %s to %s: %v", name, dns.TypeToString[qtype], filepath.Base(path), server, err)
	}
	return resp
}

// dialIn tries a tcp connection from inside the namespace.
func dialIn(path string, to netip.AddrPort) error {
	return inNetNS(path, func() error {
		c, err := net.DialTimeout("tcp", to.String(), 700*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// dropFromBridge plays a host whose INPUT drops what it does not expect: a DROP rule
// for everything (but ICMPv6) from the bridge, after berth's jump. undo deletes it (also at the end
// of the test).
func dropFromBridge(t *testing.T, bridge string, v6 bool) (undo func()) {
	t.Helper()
	bin := "iptables"
	rule := []string{"INPUT", "-i", bridge}
	if v6 {
		// Neighbour discovery passes on any host that uses IPv6 at all, as ARP does
		// for IPv4 (iptables never sees ARP).
		bin, rule = "ip6tables", append(rule, "!", "-p", "ipv6-icmp")
	}
	rule = append(rule, "-m", "comment", "--comment", "berth dns e2e: INPUT policy DROP", "-j", "DROP")
	if out, err := exec.Command(bin, append([]string{"-w", "-A"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", bin, err, out)
	}
	undo = func() { _ = exec.Command(bin, append([]string{"-w", "-D"}, rule...)...).Run() }
	t.Cleanup(undo)
	return undo
}

func measure(t *testing.T, path string, server netip.Addr, name string) {
	t.Helper()
	var took []time.Duration
	err := inNetNS(path, func() error {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for range 200 {
			start := time.Now()
			if _, _, err := c.Exchange(query(name, dns.TypeA), netip.AddrPortFrom(server, 53).String()); err != nil {
				return err
			}
			took = append(took, time.Since(start))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("latency of %s from a container netns (200 queries): median %v, p90 %v, max %v", name, took[100], took[180], took[199])
}

// container is a netns attached to networks, as a container would be.
type container struct {
	req    network.AttachRequest
	path   string
	ifaces []network.Interface
}

// on returns the container's address on the network.
func (c container) on(t *testing.T, n network.Network, v6 bool) netip.Addr {
	t.Helper()
	for _, ifc := range c.ifaces {
		if ifc.Network == n.Name && v6 {
			return ifc.IPv6
		} else if ifc.Network == n.Name {
			return ifc.IPv4
		}
	}
	t.Fatalf("container %s has no interface on %s", c.req.ContainerID, n.Name)
	return netip.Addr{}
}

// discovery is the test's world: A (dual stack) with x, the replicas r1 and r2 of api
// and y, which is on B too; z on B only; w on the internal C. The responder runs
// in-process with a stub upstream on 127.0.0.1.
type discovery struct {
	e2e
	root               string
	stub               *stubUpstream
	a, b, c            network.Network
	x, y, r1, r2, z, w container
	stop               func()
	before             map[string][]string // the host before the test
}

func startDiscovery(t *testing.T) *discovery {
	t.Helper()
	d := &discovery{root: t.TempDir(), stub: startStub(t, answerOutside)}
	m, err := network.NewManager(network.Config{DataRoot: d.root})
	if err != nil {
		t.Fatal(err)
	}
	d.e2e = e2e{t, m}
	d.before = snapshot(t, d.root)
	d.a = d.ensure(network.Spec{Name: "dns-a", EnableIPv6: true})
	d.b = d.ensure(network.Spec{Name: "dns-b"})
	d.c = d.ensure(network.Spec{Name: "dns-c", Internal: true})
	d.x = d.attach("x", []string{"web", "web-1", "alias1"}, d.a)
	d.y = d.attach("y", []string{"db"}, d.a, d.b)
	d.r1 = d.attach("r1", []string{"api"}, d.a)
	d.r2 = d.attach("r2", []string{"api"}, d.a)
	d.z = d.attach("z", []string{"secret"}, d.b)
	d.w = d.attach("w", []string{"vault"}, d.c)

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, Config{DataRoot: d.root, Upstreams: []string{d.stub.addr}, Logf: t.Logf}) }()
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(d.stop)
	waitCtx, waitCancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer waitCancel()
	if err := WaitServed(waitCtx, d.root, d.a.Name, d.b.Name, d.c.Name); err != nil {
		t.Fatal(err)
	}
	return d
}

// expect asks from c's netns and compares the answer.
func (d *discovery) expect(desc string, c container, server netip.Addr, name string, qtype uint16, rcode int, want ...netip.Addr) {
	d.t.Helper()
	resp := resolveIn(d.t, c.path, server, name, qtype, false)
	var w []string
	for _, a := range want {
		w = append(w, a.String())
	}
	slices.Sort(w)
	if resp.Rcode != rcode || !slices.Equal(answers(resp), w) {
		d.t.Errorf("%s: %s → %s %v, want %s %v", desc, name, dns.RcodeToString[resp.Rcode], answers(resp), dns.RcodeToString[rcode], w)
	}
}

func TestE2EServiceDiscovery(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	d := startDiscovery(t)
	gwA, gwA6, gwB, gwC := d.a.Subnets[0].Gateway, d.a.Subnets[1].Gateway, d.b.Subnets[0].Gateway, d.c.Subnets[0].Gateway

	// From here on the host drops everything from A's bridge but what berth lets in.
	undrop4, undrop6 := dropFromBridge(t, d.a.Bridge, false), dropFromBridge(t, d.a.Bridge, true)
	control, err := net.Listen("tcp", netip.AddrPortFrom(gwA, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	if err := dialIn(d.x.path, netip.MustParseAddrPort(control.Addr().String())); err == nil {
		t.Error("x reached a host port on its gateway through the DROP rule: the test proves nothing")
	}

	ok, nx, x, y := dns.RcodeSuccess, dns.RcodeNameError, d.x, d.y
	d.expect("x: db is y on A", x, gwA, "db.", dns.TypeA, ok, y.on(t, d.a, false))
	d.expect("x: db AAAA", x, gwA, "db.", dns.TypeAAAA, ok, y.on(t, d.a, true))
	d.expect("x over IPv6: db", x, gwA6, "db.", dns.TypeA, ok, y.on(t, d.a, false))
	d.expect("x: api is both replicas", x, gwA, "api.", dns.TypeA, ok, d.r1.on(t, d.a, false), d.r2.on(t, d.a, false))
	d.expect("x: alias1 is x", x, gwA, "alias1.", dns.TypeA, ok, x.on(t, d.a, false))
	d.expect("x: WEB-1 is x", x, gwA, "WEB-1.", dns.TypeA, ok, x.on(t, d.a, false))
	d.expect("x: secret (on B) does not resolve", x, gwA, "secret.", dns.TypeA, nx)
	d.expect("x: outside.test through the stub", x, gwA, "outside.test.", dns.TypeA, ok, netip.MustParseAddr("127.0.0.77"))
	d.expect("z: db is y on B", d.z, gwB, "db.", dns.TypeA, ok, y.on(t, d.b, false))
	d.expect("z: web (on A) does not resolve", d.z, gwB, "web.", dns.TypeA, nx)
	d.expect("y via B: web on A", y, gwB, "web.", dns.TypeA, ok, x.on(t, d.a, false))
	d.expect("w (internal only): vault", d.w, gwC, "vault.", dns.TypeA, ok, d.w.on(t, d.c, false))
	d.expect("w (internal only): outside refused", d.w, gwC, "outside.test.", dns.TypeA, dns.RcodeRefused)
	if tcp := resolveIn(t, x.path, gwA, "db.", dns.TypeA, true); !slices.Equal(answers(tcp), []string{y.on(t, d.a, false).String()}) {
		t.Errorf("x: db over tcp: %v", answers(tcp))
	}
	if asked := d.stub.names(); slices.Contains(asked, "vault.") || slices.Contains(asked, "db.") || !slices.Contains(asked, "secret.") {
		t.Errorf("the stub upstream was asked %q: local names must not be forwarded, unknown ones must", asked)
	}
	if first, second := order(resolveIn(t, x.path, gwA, "api.", dns.TypeA, false)), order(resolveIn(t, x.path, gwA, "api.", dns.TypeA, false)); first == second {
		t.Errorf("api answered %q twice in a row: want the order to rotate", first)
	}
	nslookup(t, x.path, gwA, "db", y.on(t, d.a, false))
	measure(t, x.path, gwA, "db.")
	measure(t, x.path, gwA, "outside.test.")

	// Scaling down must not move the gateway's MAC address from under the others.
	mac := bridgeMAC(t, d.a.Bridge)
	d.detach(d.r1.path, d.r1.req)
	if after := bridgeMAC(t, d.a.Bridge); after != mac {
		t.Errorf("bridge MAC changed from %s to %s when r1 left", mac, after)
	}
	d.expect("x: api after r1 was detached", x, gwA, "api.", dns.TypeA, ok, d.r2.on(t, d.a, false))
	d.detach(y.path, y.req)
	d.expect("x: db after y was detached: forwarded", x, gwA, "db.", dns.TypeA, nx)

	undrop4()
	undrop6()
	control.Close()
	d.stop()
	tearDown(t, d.m)
	requireSameHost(t, d.before, snapshot(t, d.root))
}

func bridgeMAC(t *testing.T, bridge string) string {
	t.Helper()
	ifc, err := net.InterfaceByName(bridge)
	if err != nil {
		t.Fatal(err)
	}
	return ifc.HardwareAddr.String()
}

// nslookup asks with busybox's nslookup, a real client's resolver code, in the netns.
func nslookup(t *testing.T, path string, server netip.Addr, name string, want netip.Addr) {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+path, "/bin/busybox", "nslookup", name, server.String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Address: "+want.String()) {
		t.Errorf("busybox nslookup %s %s: %v\n%s\nwant address %s", name, server, err, out, want)
	}
}

// tearDown detaches every container still attached and removes every network.
func tearDown(t *testing.T, m *network.Manager) {
	t.Helper()
	nets, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		ids, err := m.Attachments(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := m.Detach(t.Context(), "", network.AttachRequest{ContainerID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range nets {
		if err := m.Remove(t.Context(), n.Name); err != nil {
			t.Fatal(err)
		}
	}
}
