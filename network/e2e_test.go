package network

import (
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func on(networks ...string) []Attachment {
	var out []Attachment
	for _, n := range networks {
		out = append(out, Attachment{Network: n})
	}
	return out
}

func detach(t *testing.T, m *Manager, path string, req AttachRequest) {
	t.Helper()
	if err := m.Detach(t.Context(), path, req); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, m *Manager, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := m.Remove(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
}

func TestE2EReachabilityAndIsolation(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	a := ensure(t, m, Spec{Name: "iso-a"})
	b := ensure(t, m, Spec{Name: "iso-b"})
	if a.Subnets[0].Subnet.Overlaps(b.Subnets[0].Subnet) {
		t.Fatalf("networks share address space: %v and %v", a.Subnets, b.Subnets)
	}
	x := AttachRequest{ContainerID: uniqueID("x"), Networks: on(a.Name)}
	y := AttachRequest{ContainerID: uniqueID("y"), Networks: on(a.Name)}
	z := AttachRequest{ContainerID: uniqueID("z"), Networks: on(b.Name)}
	start := time.Now()
	px, ix, _ := attach(t, m, x)
	t.Logf("attach of one container, bridge+firewall: %v", time.Since(start))
	py, iy, _ := attach(t, m, y)
	pz, iz, _ := attach(t, m, z)
	listeners := []net.Listener{serve(t, px, "tcp", 8080, "x"), serve(t, py, "tcp", 8080, "y"), serve(t, pz, "tcp", 8080, "z")}
	addr := func(ifaces []Interface) netip.AddrPort { return netip.AddrPortFrom(ifaces[0].IPv4, 8080) }

	if got, err := dial(t, px, addr(iy)); err != nil || got != "y" {
		t.Errorf("x → y on the same network: %q, %v", got, err)
	}
	if got, err := dial(t, px, addr(iz)); err == nil {
		t.Errorf("x (network A) reached z (network B only): %q", got)
	}
	if got, err := dial(t, pz, addr(ix)); err == nil {
		t.Errorf("z (network B) reached x (network A only): %q", got)
	}
	if got, err := dial(t, "", addr(ix)); err != nil || got != "x" {
		t.Errorf("host → x: %q, %v", got, err)
	}
	if want := "default via " + a.Subnets[0].Gateway.String() + " dev eth0"; !slices.Contains(routes(t, px), want) {
		t.Errorf("x's routes %q lack %q", routes(t, px), want)
	}
	if ids, err := m.Attachments(a.Name); err != nil || !slices.Equal(ids, sorted(x.ContainerID, y.ContainerID)) {
		t.Errorf("Attachments(%s) = %v, %v", a.Name, ids, err)
	}
	if err := m.Remove(t.Context(), a.Name); !errors.Is(err, ErrInUse) {
		t.Errorf("Remove of a network in use: %v, want ErrInUse", err)
	}

	for _, l := range listeners {
		l.Close()
	}
	start = time.Now()
	detach(t, m, px, x)
	t.Logf("detach of one container, bridge+firewall: %v", time.Since(start))
	detach(t, m, py, y)
	detach(t, m, pz, z)
	remove(t, m, a.Name, b.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestE2EInternalNetwork(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	in := ensure(t, m, Spec{Name: "int-i", Internal: true})
	out := ensure(t, m, Spec{Name: "int-n"})
	p := AttachRequest{ContainerID: uniqueID("p"), Networks: on(in.Name)}
	q := AttachRequest{ContainerID: uniqueID("q"), Networks: on(in.Name)}
	// r's internal network has the higher priority, so it is eth0, but the default route
	// still comes from the normal network, on eth1.
	r := AttachRequest{ContainerID: uniqueID("r"), Networks: []Attachment{{Network: out.Name}, {Network: in.Name, Priority: 10}}}
	pp, ip, _ := attach(t, m, p)
	pq, iq, _ := attach(t, m, q)
	pr, ir, _ := attach(t, m, r)
	lq := serve(t, pq, "tcp", 8080, "q")
	lp := serve(t, pp, "tcp", 8080, "p")
	lr := serve(t, pr, "tcp", 8080, "r")

	for _, route := range routes(t, pp) {
		if strings.HasPrefix(route, "default") {
			t.Errorf("container on an internal network has a default route: %s", route)
		}
	}
	if ir[0].Network != in.Name || ir[0].Name != "eth0" || ir[1].Network != out.Name || ir[1].Name != "eth1" {
		t.Errorf("r's interfaces %+v: want the internal network (priority 10) on eth0", ir)
	}
	if want := "default via " + out.Subnets[0].Gateway.String() + " dev eth1"; !slices.Contains(routes(t, pr), want) {
		t.Errorf("r's routes %q lack %q", routes(t, pr), want)
	}
	if got, err := dial(t, pp, netip.AddrPortFrom(iq[0].IPv4, 8080)); err != nil || got != "q" {
		t.Errorf("p → q on the internal network: %q, %v", got, err)
	}
	if got, err := dial(t, "", netip.AddrPortFrom(ip[0].IPv4, 8080)); err != nil || got != "p" {
		t.Errorf("host → p on the internal network: %q, %v", got, err)
	}

	// Give p a default route anyway: the host must still not forward its traffic off
	// the bridge, and it is berth's rule that drops it.
	addDefaultRoute(t, pp, in.Subnets[0].Gateway)
	dropped := internalDrops(t, in.Bridge)
	if got, err := dial(t, pp, netip.AddrPortFrom(ir[1].IPv4, 8080)); err == nil {
		t.Errorf("p (internal only) reached r's address on another network: %q", got)
	}
	if after := internalDrops(t, in.Bridge); after <= dropped {
		t.Errorf("BERTH-INTERNAL dropped %d packets from %s before and %d after p's attempt", dropped, in.Bridge, after)
	}

	for _, l := range []net.Listener{lp, lq, lr} {
		l.Close()
	}
	detach(t, m, pp, p)
	detach(t, m, pq, q)
	detach(t, m, pr, r)
	remove(t, m, in.Name, out.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func addDefaultRoute(t *testing.T, path string, gw netip.Addr) {
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
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}); err != nil {
		t.Fatal(err)
	}
}

// internalDrops is the packet count of the BERTH-INTERNAL rule for traffic leaving bridge.
func internalDrops(t *testing.T, bridge string) int {
	t.Helper()
	out, err := exec.Command(binary(false, "iptables-save"), "-c", "-t", "mangle").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// "[3:180] -A BERTH-INTERNAL -i br ! -o br …"
		if strings.Contains(line, "-A "+internalChain+" -i "+bridge+" ! -o "+bridge) {
			packets, _, _ := strings.Cut(strings.TrimPrefix(line, "["), ":")
			n, err := strconv.Atoi(packets)
			if err != nil {
				t.Fatalf("parse counters of %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no BERTH-INTERNAL rule for %s in:\n%s", bridge, out)
	return 0
}

func TestE2EPublishedPorts(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	n := ensure(t, m, Spec{Name: "pub"})
	web := AttachRequest{ContainerID: uniqueID("web"), Networks: on(n.Name),
		Ports: []PortMapping{{HostIP: "127.0.0.1", ContainerPort: 8080}}}
	path := createNetNS(t, m, web.ContainerID)
	l := serve(t, path, "tcp", 8080, "web")
	start := time.Now()
	_, ports, err := m.Attach(t.Context(), path, web)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attach of one container with a published port: %v", time.Since(start))
	if len(ports) != 1 || ports[0].HostPort == 0 {
		t.Fatalf("published ports %+v", ports)
	}
	published := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ports[0].HostPort)
	if got, err := dial(t, "", published); err != nil || got != "web" {
		t.Errorf("127.0.0.1:%d → web:8080: %q, %v", ports[0].HostPort, got, err)
	}

	// A second container asking for ports already taken fails, and leaves nothing.
	other := AttachRequest{ContainerID: uniqueID("other"), Networks: on(n.Name)}
	otherPath := createNetNS(t, m, other.ContainerID)
	hostSocket, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostSocket.Close()
	busy := uint16(hostSocket.Addr().(*net.TCPAddr).Port)
	mid := takeSnapshot(t, m)
	for _, tt := range []struct {
		port    PortMapping
		wantErr string
	}{
		{PortMapping{HostPort: busy, ContainerPort: 80}, "already in use"},
		{PortMapping{HostIP: "127.0.0.1", HostPort: ports[0].HostPort, ContainerPort: 80}, "already published"},
	} {
		other.Ports = []PortMapping{tt.port}
		_, _, err := m.Attach(t.Context(), otherPath, other)
		port := strconv.Itoa(int(tt.port.HostPort))
		if err == nil || !strings.Contains(err.Error(), "host port "+port+"/tcp is "+tt.wantErr) {
			t.Errorf("attach with host port %s taken: %v, want an error naming the port", port, err)
		}
		t.Logf("port taken: %v", err)
		requireSameHost(t, mid, takeSnapshot(t, m))
	}

	l.Close()
	start = time.Now()
	detach(t, m, path, web)
	t.Logf("detach of one container with a published port: %v", time.Since(start))
	detach(t, m, otherPath, other)
	if _, err := dial(t, "", published); err == nil {
		t.Errorf("127.0.0.1:%d still answers after detach", ports[0].HostPort)
	}
	remove(t, m, n.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func TestE2ENetNSGoneBeforeDetach(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	n := ensure(t, m, Spec{Name: "crash-n"})
	in := ensure(t, m, Spec{Name: "crash-i", Internal: true})
	x := AttachRequest{ContainerID: uniqueID("x"), Networks: on(n.Name, in.Name),
		Ports: []PortMapping{{HostIP: "127.0.0.1", ContainerPort: 80}}}
	path, _, _ := attach(t, m, x)
	// The crash: the namespace goes away without a CNI DEL.
	if err := m.deleteNetNS(path); err != nil {
		t.Fatal(err)
	}
	// The CNI backend masquerades per container, the native one per network: both
	// write the published port's DNAT for the container.
	if !strings.Contains(strings.Join(commandLines(t, binary(false, "iptables-save"), "-t", "nat"), "\n"), x.ContainerID) {
		t.Fatal("no nat rule for the container before Detach: the test proves nothing")
	}
	// The reconciler may no longer know the path: "" means the recorded one.
	detach(t, m, "", x)
	for _, table := range []string{"nat", "filter"} {
		for _, line := range commandLines(t, binary(false, "iptables-save"), "-t", table) {
			if strings.Contains(line, x.ContainerID) || m.backend == BackendCNI && strings.Contains(line, n.CNIName) {
				t.Errorf("%s rule left after Detach: %s", table, line)
			}
		}
	}
	if ids, _ := m.Attachments(n.Name); len(ids) != 0 {
		t.Errorf("attachments after Detach: %v", ids)
	}
	detach(t, m, path, x) // again: idempotent
	remove(t, m, n.Name, in.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func TestE2EAttachFailureUndoes(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	a := ensure(t, m, Spec{Name: "undo-a"})
	b := ensure(t, m, Spec{Name: "undo-b"})
	static := a.Subnets[0].Subnet.Addr().Next().Next().Next() // .3
	x := AttachRequest{ContainerID: uniqueID("x"), Networks: []Attachment{{Network: a.Name, IPv4: static, MAC: "02:42:0a:00:00:03"}}}
	px, ix, _ := attach(t, m, x)
	if ix[0].IPv4 != static || ix[0].MAC != "02:42:0a:00:00:03" {
		t.Errorf("static address and MAC: got %s %s", ix[0].IPv4, ix[0].MAC)
	}

	// A container has been on b before: what stays with the network until Remove (the
	// firewall plugin's isolation rules) is there already, so the snapshot below can
	// show that the failed Attach leaves nothing of its own.
	w := AttachRequest{ContainerID: uniqueID("w"), Networks: on(b.Name)}
	pw, _, _ := attach(t, m, w)
	detach(t, m, pw, w)

	// y wants x's address on a: its ADD on a fails after (or while) b's succeeds.
	y := AttachRequest{ContainerID: uniqueID("y"), Networks: []Attachment{{Network: a.Name, IPv4: static}, {Network: b.Name}}}
	py := createNetNS(t, m, y.ContainerID)
	mid := takeSnapshot(t, m)
	if _, _, err := m.Attach(t.Context(), py, y); err == nil {
		t.Fatal("two containers got the same static address")
	} else {
		t.Logf("static address taken: %v", err)
	}
	requireSameHost(t, mid, takeSnapshot(t, m))

	detach(t, m, px, x)
	detach(t, m, "", y) // no record: "" is the namespace CreateNetNS made
	remove(t, m, a.Name, b.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func TestE2EEnsureAcrossDataRoots(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m1, m2 := newManager(t), newManager(t)
	before1, before2 := takeSnapshot(t, m1), takeSnapshot(t, m2)

	// The same names in two data roots, created at the same time.
	var wg sync.WaitGroup
	nets := make([]Network, 4)
	errs := make([]error, 4)
	for i := range nets {
		wg.Go(func() {
			m, name := m1, "shared"
			if i%2 == 1 {
				m = m2
			}
			if i >= 2 {
				name = "shared-2"
			}
			nets[i], errs[i] = m.Ensure(t.Context(), Spec{Name: name})
		})
	}
	wg.Wait()
	for i, n := range nets {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, o := range nets[:i] {
			if o.Bridge == n.Bridge || o.Subnets[0].Subnet.Overlaps(n.Subnets[0].Subnet) {
				t.Errorf("networks share a bridge or subnet: %+v and %+v", o, n)
			}
		}
	}

	again, err := m1.Ensure(t.Context(), Spec{Name: "shared"})
	if err != nil || again.Bridge != nets[0].Bridge || again.Subnets[0] != nets[0].Subnets[0] || !again.Created.Equal(nets[0].Created) {
		t.Errorf("second Ensure: %+v, %v; want %+v", again, err, nets[0])
	}
	if _, err := m1.Ensure(t.Context(), Spec{Name: "shared", Internal: true}); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "internal") {
		t.Errorf("Ensure with another spec: %v, want ErrConflict naming internal", err)
	}
	if _, err := m1.Ensure(t.Context(), Spec{Name: "overlap", Subnets: []Subnet{{Subnet: nets[0].Subnets[0].Subnet}}}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("Ensure with a subnet in use: %v", err)
	}
	if _, err := m1.Get("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing network: %v", err)
	}
	if list, err := m1.List(); err != nil || len(list) != 2 || list[0].Name != "shared" || list[1].Name != "shared-2" {
		t.Errorf("List = %+v, %v", list, err)
	}
	remove(t, m1, "shared", "shared-2", "missing")
	remove(t, m2, "shared", "shared-2")
	requireSameHost(t, before1, takeSnapshot(t, m1))
	requireSameHost(t, before2, takeSnapshot(t, m2))
}

func TestE2EConcurrentAttach(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	a := ensure(t, m, Spec{Name: "many-a"})
	b := ensure(t, m, Spec{Name: "many-b"})
	const n = 8
	reqs := make([]AttachRequest, n)
	paths := make([]string, n)
	for i := range reqs {
		reqs[i] = AttachRequest{ContainerID: uniqueID("c" + strconv.Itoa(i)), Networks: on(a.Name, b.Name),
			Ports: []PortMapping{{HostIP: "127.0.0.1", ContainerPort: 80}}}
		paths[i] = createNetNS(t, m, reqs[i].ContainerID)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	ifaces := make([][]Interface, n)
	ports := make([][]PortMapping, n)
	start := time.Now()
	for i := range reqs {
		wg.Go(func() { ifaces[i], ports[i], errs[i] = m.Attach(t.Context(), paths[i], reqs[i]) })
	}
	wg.Wait()
	t.Logf("attach of %d containers on 2 networks with a published port, concurrently: %v", n, time.Since(start))
	seen := map[netip.Addr]bool{}
	seenPort := map[uint16]bool{}
	for i := range reqs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, ifc := range ifaces[i] {
			if seen[ifc.IPv4] {
				t.Errorf("address %s handed out twice", ifc.IPv4)
			}
			seen[ifc.IPv4] = true
		}
		if seenPort[ports[i][0].HostPort] {
			t.Errorf("host port %d published twice", ports[i][0].HostPort)
		}
		seenPort[ports[i][0].HostPort] = true
	}
	start = time.Now()
	for i := range reqs {
		wg.Go(func() { errs[i] = m.Detach(t.Context(), paths[i], reqs[i]) })
	}
	wg.Wait()
	t.Logf("detach of %d containers, concurrently: %v", n, time.Since(start))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	remove(t, m, a.Name, b.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func TestE2EIPv6(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	n := ensure(t, m, Spec{Name: "dual", EnableIPv6: true})
	if _, ok := n.subnet(true); !ok {
		t.Fatalf("no IPv6 subnet allocated: %v", n.Subnets)
	}
	x := AttachRequest{ContainerID: uniqueID("x"), Networks: on(n.Name)}
	y := AttachRequest{ContainerID: uniqueID("y"), Networks: on(n.Name)}
	px, ix, _ := attach(t, m, x)
	py, iy, _ := attach(t, m, y)
	if !ix[0].IPv6.IsValid() || !ix[0].Gateway6.IsValid() || !ix[0].IPv4.IsValid() {
		t.Fatalf("x's interface %+v: want both families", ix[0])
	}
	ly := serve(t, py, "tcp", 8080, "y")
	lx := serve(t, px, "tcp", 8080, "x")
	if got, err := dial(t, px, netip.AddrPortFrom(iy[0].IPv6, 8080)); err != nil || got != "y" {
		t.Errorf("x → y over IPv6: %q, %v", got, err)
	}
	if got, err := dial(t, "", netip.AddrPortFrom(ix[0].IPv6, 8080)); err != nil || got != "x" {
		t.Errorf("host → x over IPv6: %q, %v", got, err)
	}
	lx.Close()
	ly.Close()
	detach(t, m, px, x)
	detach(t, m, py, y)
	remove(t, m, n.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}

func TestE2EGatewayMACStaysPut(t *testing.T) {
	requireE2E(t)
	warmUp(t)
	m := newManager(t)
	before := takeSnapshot(t, m)

	n := ensure(t, m, Spec{Name: "mac"})
	mac := func() string {
		t.Helper()
		link, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			t.Fatal(err)
		}
		return link.Attrs().HardwareAddr.String()
	}
	want := bridgeMAC(n.Bridge).String()
	if got := mac(); got != want {
		t.Errorf("new bridge's MAC %s, want %s", got, want)
	}
	// Whichever port has the lowest MAC, the bridge must not take it, nor lose it.
	var paths []string
	var reqs []AttachRequest
	for i := range 3 {
		req := AttachRequest{ContainerID: uniqueID("m" + strconv.Itoa(i)), Networks: on(n.Name)}
		path, _, _ := attach(t, m, req)
		paths, reqs = append(paths, path), append(reqs, req)
		if got := mac(); got != want {
			t.Errorf("bridge MAC %s after %d attached, want %s", got, i+1, want)
		}
	}
	for i := range reqs {
		detach(t, m, paths[i], reqs[i])
		if got := mac(); got != want {
			t.Errorf("bridge MAC %s after %d detached, want %s", got, i+1, want)
		}
	}
	remove(t, m, n.Name)
	requireSameHost(t, before, takeSnapshot(t, m))
}
