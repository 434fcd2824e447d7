package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// childEnv marks the test binary that TestE2EDockerLikeHost runs in a network namespace
// of its own.
const childEnv = "BERTH_TEST_NETNS_CHILD"

// dockerRules are what Docker 20.10 sets up on its host: FORWARD policy DROP, its
// chains jumped from the top of FORWARD, its NAT chain.
const dockerRules = `*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
`

// TestE2EDockerLikeHost checks the backend on a host that Docker has set up: FORWARD
// policy DROP and Docker's chains. It must not change the real host's policy, so the
// test binary runs itself again in a new network namespace (unshare --net), with a
// second namespace standing for a machine outside, reached through a veth pair on the
// documentation network 198.51.100.0/24. Nothing leaves the namespaces.
func TestE2EDockerLikeHost(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		requireE2E(t)
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Fatalf("unshare (util-linux) is needed: %v", err)
		}
		cmd := exec.Command(unshare, "--net", "--", os.Args[0], "-test.run", "^TestE2EDockerLikeHost$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a network namespace of its own:\n%s", out)
		if err != nil {
			t.Fatalf("the test in its own network namespace failed: %v", err)
		}
		return
	}
	dockerLikeHost(t)
}

func dockerLikeHost(t *testing.T) {
	if err := netlink.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}}); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	run("ip", "link", "add", "docker0", "type", "bridge")
	run("ip", "addr", "add", "172.17.0.1/16", "dev", "docker0")
	if err := restoreText(false, dockerRules); err != nil {
		t.Fatal(err)
	}
	m := newManager(t)
	ext, extAddr := outsideHost(t, m)
	warmUp(t) // the shared chains, created by the first network, stay
	before := takeSnapshot(t, m)

	a := ensure(t, m, Spec{Name: "dl-a"})
	b := ensure(t, m, Spec{Name: "dl-b"})
	a1 := AttachRequest{ContainerID: uniqueID("a1"), Networks: on(a.Name), Ports: []PortMapping{{HostPort: 8080, ContainerPort: 80}}}
	a2 := AttachRequest{ContainerID: uniqueID("a2"), Networks: on(a.Name)}
	b1 := AttachRequest{ContainerID: uniqueID("b1"), Networks: on(b.Name)}
	p1, i1, _ := attach(t, m, a1)
	p2, i2, _ := attach(t, m, a2)
	pb, _, _ := attach(t, m, b1)
	serveRemote(t, p1, 80)
	serveRemote(t, p2, 8080)
	serveRemote(t, pb, 8080)
	serveRemote(t, ext, 9000)
	at := func(ifaces []Interface, port uint16) netip.AddrPort { return netip.AddrPortFrom(ifaces[0].IPv4, port) }

	check := func(what, from string, to netip.AddrPort, wantOK bool, wantPeer string) {
		t.Helper()
		got, err := dial(t, from, to)
		switch {
		case wantOK && err != nil:
			t.Errorf("%s: %v", what, err)
		case wantOK && wantPeer != "" && got != wantPeer:
			t.Errorf("%s: the server saw %s, want %s", what, got, wantPeer)
		case !wantOK && err == nil:
			t.Errorf("%s: got through (server saw %s), want it dropped", what, got)
		}
	}
	check("a2 → a1, same network", p2, at(i1, 80), true, i2[0].IPv4.String())
	check("b1 → a2, other network", pb, at(i2, 8080), false, "")
	check("a2 → outside, masqueraded", p2, netip.AddrPortFrom(extAddr, 9000), true, "198.51.100.1")
	if m.backend == BackendNative {
		check("outside → published port", ext, netip.MustParseAddrPort("198.51.100.1:8080"), true, "198.51.100.2")
	} else {
		// the plugins accept only replies to a container: no new connection to a
		// published port gets through a FORWARD policy of DROP
		t.Log("CNI backend: published ports from outside not checked")
	}
	check("host → published port on 127.0.0.1", "", netip.MustParseAddrPort("127.0.0.1:8080"), true, "")
	addRoute(t, ext, a.Subnets[0].Subnet, netip.MustParseAddr("198.51.100.1"))
	check("outside → a2 directly, not published", ext, at(i2, 8080), false, "")

	for _, c := range []struct {
		path string
		req  AttachRequest
	}{{p1, a1}, {p2, a2}, {pb, b1}} {
		closeListeners(t, c.path)
		detach(t, m, c.path, c.req)
	}
	remove(t, m, a.Name, b.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

// outsideHost makes a namespace linked to this one by a veth pair: 198.51.100.1 here,
// 198.51.100.2 there.
func outsideHost(t *testing.T, m *Manager) (string, netip.Addr) {
	t.Helper()
	path := createNetNS(t, m, uniqueID("outside"))
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.Flags = "bext0", net.FlagUp
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(&netlink.Veth{LinkAttrs: attrs}) })
	host, _ := netlink.LinkByName("bext0")
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: mustIPNet("198.51.100.1/24")}); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	peer, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: mustIPNet("198.51.100.2/24")}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{peer, &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}}} {
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	return path, netip.MustParseAddr("198.51.100.2")
}

func mustIPNet(s string) *net.IPNet {
	ip, ipn, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	ipn.IP = ip
	return ipn
}

func addRoute(t *testing.T, path string, dst netip.Prefix, gw netip.Addr) {
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
	dstNet := &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)}
	if err := h.RouteAdd(&netlink.Route{Dst: dstNet, Gw: gw.AsSlice()}); err != nil {
		t.Fatal(err)
	}
}

var listenersByNS = map[string][]net.Listener{}

// serveRemote listens on port in the namespace and answers every connection with the
// address it came from, which shows masquerading.
func serveRemote(t *testing.T, path string, port int) {
	t.Helper()
	var l net.Listener
	if err := inNetNS(t, path, func() (err error) {
		l, err = net.Listen("tcp4", ":"+strconv.Itoa(port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	listenersByNS[path] = append(listenersByNS[path], l)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := strings.Cut(c.RemoteAddr().String(), ":")
			fmt.Fprintln(c, host)
			c.Close()
		}
	}()
}

// closeListeners closes the namespace's listeners: they keep it, and its veth, alive.
func closeListeners(t *testing.T, path string) {
	t.Helper()
	for _, l := range listenersByNS[path] {
		l.Close()
	}
	delete(listenersByNS, path)
}
