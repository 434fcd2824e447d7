package dns

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/network"
	"github.com/miekg/dns"
)

// These tests run the whole responder without root: networks whose "gateways" are
// loopback addresses (any 127/8 address is the host's own) and a port above 1024.

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// saveJSON writes like network does, by a rename, which is what the watch sees.
func saveJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path+".tmp", string(data))
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// loopNet is a network on a random 127.x.y.0/24 with its "gateway" at .1.
type loopNet struct {
	name string
	base netip.Addr // 127.x.y.0
}

func newLoopNet(name string) loopNet {
	return loopNet{name, netip.AddrFrom4([4]byte{127, byte(2 + rand.IntN(250)), byte(rand.IntN(256)), 0})}
}

func (n loopNet) host(i byte) netip.Addr {
	b := n.base.As4()
	b[3] = i
	return netip.AddrFrom4(b)
}

func (n loopNet) save(t *testing.T, root string, internal bool) {
	t.Helper()
	nw := network.Network{Spec: network.Spec{Name: n.name, Internal: internal,
		Subnets: []network.Subnet{{Subnet: netip.PrefixFrom(n.base, 24), Gateway: n.host(1)}}}}
	saveJSON(t, filepath.Join(root, "networks", n.name+".json"), nw)
}

func (n loopNet) remove(t *testing.T, root string) {
	t.Helper()
	if err := os.Remove(filepath.Join(root, "networks", n.name+".json")); err != nil {
		t.Fatal(err)
	}
}

// saveRecord writes an attachment record in network's format, with the fields
// Endpoints reads.
func saveRecord(t *testing.T, root, containerID string, n loopNet, ip netip.Addr, names ...string) {
	t.Helper()
	rec := map[string]any{
		"containerID": containerID,
		"netns":       "/nonexistent",
		"networks":    []map[string]any{{"network": n.name, "aliases": names, "net": map[string]any{}, "iface": map[string]any{"ifName": "eth0"}}},
		"interfaces":  []map[string]any{{"network": n.name, "name": "eth0", "ipv4": ip.String(), "mac": ""}},
	}
	saveJSON(t, filepath.Join(root, "networks", "attachments", containerID+".json"), rec)
}

// freePort finds a port that is free for udp and tcp on addr.
func freePort(t *testing.T, addr netip.Addr) uint16 {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, port).String())
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// ask sends one query from src to server over udp (or tcp).
func ask(src netip.Addr, server netip.AddrPort, name string, qtype uint16, tcp bool) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: src.AsSlice()}}}
	if tcp {
		c.Net, c.Dialer.LocalAddr = "tcp", &net.TCPAddr{IP: src.AsSlice()}
	}
	resp, _, err := c.Exchange(query(name, qtype), server.String())
	return resp, err
}

// runServe runs serve until the test ends. done is closed when serve returns; *result
// is then what it returned.
func runServe(t *testing.T, cfg Config, port uint16) (cancel func(), done <-chan struct{}, result *error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var err error
	go func() {
		defer close(finished)
		err = serve(ctx, cfg, options{port: port, resolvConf: "/nonexistent", timeout: 500 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Error("serve did not return after cancel")
		}
	})
	return cancel, finished, &err
}

func waitServed(t *testing.T, root string, networks ...string) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := WaitServed(ctx, root, networks...); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestServeFollowsState(t *testing.T) {
	stub := startStub(t, answerOutside)
	root := t.TempDir()
	a := newLoopNet("lo-a")
	a.save(t, root, false)
	saveRecord(t, root, "x", a, a.host(2), "web", "x")
	saveRecord(t, root, "r1", a, a.host(11), "api")
	saveRecord(t, root, "r2", a, a.host(12), "api")
	port := freePort(t, a.host(1))
	gw := netip.AddrPortFrom(a.host(1), port)
	cancel, done, result := runServe(t, Config{DataRoot: root, Upstreams: []string{stub.addr}, Logf: t.Logf}, port)
	waitServed(t, root, a.name)

	expect := func(desc, name string, tcp bool, want ...string) {
		t.Helper()
		resp, err := ask(a.host(2), gw, name, dns.TypeA, tcp)
		if err != nil {
			t.Errorf("%s: %v", desc, err)
			return
		}
		if got := answers(resp); !slices.Equal(got, want) {
			t.Errorf("%s: %s → %s %v, want %v", desc, name, dns.RcodeToString[resp.Rcode], got, want)
		}
	}
	expect("local name over udp", "web.", false, a.host(2).String())
	expect("local name over tcp", "WEB.", true, a.host(2).String())
	expect("replicas", "api.", false, a.host(11).String(), a.host(12).String())
	expect("forwarded", "outside.test.", false, "127.0.0.77")
	expect("forwarded over tcp", "outside.test.", true, "127.0.0.77")
	logLatency(t, a.host(2), gw)

	// Names follow the records at once, without waiting for a poll.
	if err := os.Remove(filepath.Join(root, "networks", "attachments", "r1.json")); err != nil {
		t.Fatal(err)
	}
	expect("replica removed", "api.", false, a.host(12).String())
	saveRecord(t, root, "r3", a, a.host(13), "api")
	expect("replica added", "api.", false, a.host(12).String(), a.host(13).String())

	networkComesAndGoes(t, root, port)
	// the report is written after the network stops being served: poll it
	statusOK := func(r Report, err error) bool {
		return err == nil && r.Running && len(r.Networks) == 1 && r.Networks[0].Network == a.name &&
			slices.Equal(r.Upstreams, []string{stub.addr})
	}
	r, err := Status(root)
	for deadline := time.Now().Add(5 * time.Second); !statusOK(r, err) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		r, err = Status(root)
	}
	if !statusOK(r, err) {
		t.Errorf("Status = %+v, %v", r, err)
	}

	cancel()
	<-done
	if *result != nil {
		t.Errorf("serve returned %v after cancel", *result)
	}
	if r, err := Status(root); err != nil || r.PID != 0 {
		t.Errorf("Status after exit = %+v, %v; want no report", r, err)
	}
	if _, err := ask(a.host(2), gw, "web.", dns.TypeA, false); err == nil {
		t.Error("the gateway still answers after serve returned")
	}
}

// networkComesAndGoes checks that a new network is served within a moment, thanks to
// the watch, and that one removed is not served any more.
func networkComesAndGoes(t *testing.T, root string, port uint16) {
	t.Helper()
	b := newLoopNet("lo-b")
	b.save(t, root, true)
	t.Logf("new network served after %v", waitServed(t, root, b.name))
	gwB := netip.AddrPortFrom(b.host(1), port)
	if resp, err := ask(b.host(5), gwB, "web.", dns.TypeA, false); err != nil || resp.Rcode != dns.RcodeRefused {
		t.Errorf("unknown sender on internal lo-b asks for web (on lo-a): %v, %v; want REFUSED", resp, err)
	}
	b.remove(t, root)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := ask(b.host(5), gwB, "web.", dns.TypeA, false); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the removed network's gateway still answers")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLatency measures sequential queries, local and forwarded, from one client.
func logLatency(t *testing.T, src netip.Addr, server netip.AddrPort) {
	t.Helper()
	for _, name := range []string{"web.", "outside.test."} {
		var took []time.Duration
		for range 200 {
			start := time.Now()
			if _, err := ask(src, server, name, dns.TypeA, false); err != nil {
				t.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		t.Logf("latency of %s over loopback (200 queries): median %v, p90 %v, max %v", name, took[100], took[180], took[199])
	}
}

// exits waits for serve to return and checks that it returned nil.
func exits(t *testing.T, done <-chan struct{}, result *error, why string) {
	t.Helper()
	select {
	case <-done:
		if *result != nil {
			t.Errorf("serve returned %v, want nil", *result)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("serve did not return %s", why)
	}
}

func TestServeIdleExit(t *testing.T) {
	root := t.TempDir()
	start := time.Now()
	_, done, result := runServe(t, Config{DataRoot: root, IdleExit: 200 * time.Millisecond, Upstreams: []string{"127.0.0.1:1"}}, 0)
	exits(t, done, result, "while no network existed")
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("serve returned after %v, before the idle time", took)
	}

	a := newLoopNet("lo-idle")
	a.save(t, root, false)
	_, done, result = runServe(t, Config{DataRoot: root, IdleExit: 200 * time.Millisecond, Upstreams: []string{"127.0.0.1:1"}}, freePort(t, a.host(1)))
	select {
	case <-done:
		t.Fatalf("serve returned %v while a network existed", *result)
	case <-time.After(700 * time.Millisecond):
	}
	a.remove(t, root)
	exits(t, done, result, "after the last network went")
}

// fakeLease records what Serve does with it; onRelease plays a starter that creates a
// network just as the responder lets go.
type fakeLease struct {
	mu        sync.Mutex
	calls     []string
	onRelease func()
	reacquire error
}

func (l *fakeLease) record(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
}

func (l *fakeLease) Ready() error { l.record("ready"); return nil }
func (l *fakeLease) Release() {
	l.record("release")
	if l.onRelease != nil {
		l.onRelease()
		l.onRelease = nil
	}
}
func (l *fakeLease) Reacquire() error { l.record("reacquire"); return l.reacquire }

func (l *fakeLease) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func TestServeIdleExitLooksOnceMore(t *testing.T) {
	root := t.TempDir()
	a := newLoopNet("lo-late")
	lease := &fakeLease{onRelease: func() { a.save(t, root, false) }}
	_, done, result := runServe(t, Config{DataRoot: root, IdleExit: 100 * time.Millisecond, Lease: lease,
		Upstreams: []string{"127.0.0.1:1"}}, freePort(t, a.host(1)))
	waitServed(t, root, a.name)
	if got, want := lease.got(), []string{"ready", "release", "reacquire"}; !slices.Equal(got, want) {
		t.Errorf("lease calls %v, want %v", got, want)
	}
	a.remove(t, root)
	exits(t, done, result, "after the last network went")
	if got, want := lease.got(), []string{"ready", "release", "reacquire", "release"}; !slices.Equal(got, want) {
		t.Errorf("lease calls %v, want %v", got, want)
	}

	// When another helper took the lease meanwhile, this one leaves it the network.
	lease = &fakeLease{onRelease: func() { a.save(t, root, false) }, reacquire: errors.New("held by pid 1")}
	_, done, result = runServe(t, Config{DataRoot: root, IdleExit: 100 * time.Millisecond, Lease: lease,
		Upstreams: []string{"127.0.0.1:1"}}, freePort(t, a.host(1)))
	exits(t, done, result, "to give way to the other helper")
}

func TestServeRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {DataRoot: t.TempDir(), Upstreams: []string{"not an address"}}} {
		if err := Serve(t.Context(), cfg); err == nil {
			t.Errorf("Serve(%+v) = nil", cfg)
		} else {
			t.Log(err)
		}
	}
}
