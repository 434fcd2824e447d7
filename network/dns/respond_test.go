package dns

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/network"
	"github.com/miekg/dns"
)

// fixedView serves one view, as if the data root never changed.
type fixedView struct{ v *view }

func (f fixedView) get() (*view, error) { return f.v, nil }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func subnet(prefix, gw string) network.Subnet {
	return network.Subnet{Subnet: netip.MustParsePrefix(prefix), Gateway: addr(gw)}
}

// testView: networks A (dual stack), B, and the internal I; x and two replicas of api
// on A, y on A and B, z on B, p on I, q on I and A.
func testView() *view {
	nets := []network.Network{
		{Spec: network.Spec{Name: "A", Subnets: []network.Subnet{subnet("10.1.0.0/24", "10.1.0.1"), subnet("fd00:a::/64", "fd00:a::1")}}},
		{Spec: network.Spec{Name: "B", Subnets: []network.Subnet{subnet("10.2.0.0/24", "10.2.0.1")}}},
		{Spec: network.Spec{Name: "I", Internal: true, Subnets: []network.Subnet{subnet("10.3.0.0/24", "10.3.0.1")}}},
	}
	eps := []network.Endpoint{
		{ContainerID: "x", Network: "A", IPv4: addr("10.1.0.2"), IPv6: addr("fd00:a::2"), Names: []string{"web", "Web-1", "alias1."}},
		{ContainerID: "y", Network: "A", IPv4: addr("10.1.0.3"), IPv6: addr("fd00:a::3"), Names: []string{"db"}},
		{ContainerID: "y", Network: "B", IPv4: addr("10.2.0.3"), Names: []string{"db"}},
		{ContainerID: "r1", Network: "A", IPv4: addr("10.1.0.11"), IPv6: addr("fd00:a::11"), Names: []string{"api"}},
		{ContainerID: "r2", Network: "A", IPv4: addr("10.1.0.12"), IPv6: addr("fd00:a::12"), Names: []string{"api"}},
		{ContainerID: "z", Network: "B", IPv4: addr("10.2.0.4"), Names: []string{"secret"}},
		{ContainerID: "p", Network: "I", IPv4: addr("10.3.0.2"), Names: []string{"vault"}},
		{ContainerID: "q", Network: "I", IPv4: addr("10.3.0.3"), Names: []string{"worker"}},
		{ContainerID: "q", Network: "A", IPv4: addr("10.1.0.13"), Names: []string{"worker"}},
	}
	return newView(nets, eps)
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"db": "db", "db.": "db", "DB.": "db", "Web-1.Example.": "web-1.example", "": "", ".": ""} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

// stubUpstream runs a resolver on 127.0.0.1, udp and tcp on one port, that answers
// with h and records the names it was asked.
type stubUpstream struct {
	addr  string
	mu    sync.Mutex
	asked []string
}

func (s *stubUpstream) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

func startStub(t *testing.T, h func(w dns.ResponseWriter, req *dns.Msg)) *stubUpstream {
	t.Helper()
	s := &stubUpstream{}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		s.mu.Lock()
		s.asked = append(s.asked, req.Question[0].Name)
		s.mu.Unlock()
		h(w, req)
	})
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue // the port is taken for tcp: try another
		}
		udp, tcp := &dns.Server{PacketConn: pc, Handler: handler}, &dns.Server{Listener: ln, Handler: handler}
		if err := errorsOf(start(udp), start(tcp)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
		s.addr = pc.LocalAddr().String()
		return s
	}
	t.Fatal("no port free for udp and tcp on 127.0.0.1")
	return nil
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// answerOutside answers "outside.test." with 127.0.0.77 and anything else NXDOMAIN.
func answerOutside(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	if strings.EqualFold(req.Question[0].Name, "outside.test.") && req.Question[0].Qtype == dns.TypeA {
		m.SetReply(req)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.ParseIP("127.0.0.77")})
	} else {
		m.SetRcode(req, dns.RcodeNameError)
	}
	_ = w.WriteMsg(m)
}

func newResponder(t *testing.T, v viewer, upstreams ...string) *responder {
	t.Helper()
	ups, err := newUpstreams(upstreams, "", "/nonexistent/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	return &responder{ctx: t.Context(), state: v, ups: ups, timeout: 500 * time.Millisecond, logf: t.Logf}
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

// answers lists the addresses of m's answer section, sorted.
func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestRespondBySharedNetwork(t *testing.T) {
	stub := startStub(t, answerOutside)
	r := newResponder(t, fixedView{testView()}, stub.addr)
	gwA, gwA6, gwB, gwI := addr("10.1.0.1"), addr("fd00:a::1"), addr("10.2.0.1"), addr("10.3.0.1")
	for _, tt := range []struct {
		desc      string
		gw, src   netip.Addr
		name      string
		qtype     uint16
		rcode     int
		want      []string
		forwarded bool
	}{
		{"x: db on A", gwA, addr("10.1.0.2"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3"}, false},
		{"x: case and no trailing dot", gwA, addr("10.1.0.2"), "DB", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3"}, false},
		{"x: mixed-case alias", gwA, addr("10.1.0.2"), "web-1.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"x: alias stored with a dot", gwA, addr("10.1.0.2"), "ALIAS1.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"x: db AAAA", gwA, addr("10.1.0.2"), "db.", dns.TypeAAAA, dns.RcodeSuccess, []string{"fd00:a::3"}, false},
		{"x over IPv6: db", gwA6, addr("fd00:a::2"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3"}, false},
		{"x: db ANY", gwA, addr("10.1.0.2"), "db.", dns.TypeANY, dns.RcodeSuccess, []string{"10.1.0.3", "fd00:a::3"}, false},
		{"x: db MX is empty, not forwarded", gwA, addr("10.1.0.2"), "db.", dns.TypeMX, dns.RcodeSuccess, nil, false},
		{"x: both replicas", gwA, addr("10.1.0.2"), "api.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.11", "10.1.0.12"}, false},
		{"x: secret is on B only: forwarded", gwA, addr("10.1.0.2"), "secret.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"z: db on B", gwB, addr("10.2.0.4"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.2.0.3"}, false},
		{"z: db has no IPv6 on B", gwB, addr("10.2.0.4"), "db.", dns.TypeAAAA, dns.RcodeSuccess, nil, false},
		{"y via B: web on A, shared", gwB, addr("10.2.0.3"), "web.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.2"}, false},
		{"y via A: secret on B, shared", gwA, addr("10.1.0.3"), "secret.", dns.TypeA, dns.RcodeSuccess, []string{"10.2.0.4"}, false},
		{"y via A: itself, on A", gwA, addr("10.1.0.3"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3"}, false},
		{"y via B: itself, on B", gwB, addr("10.2.0.3"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.2.0.3"}, false},
		{"unknown sender on A: A's names", gwA, addr("10.1.0.200"), "db.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.3"}, false},
		{"unknown sender on A: not B's", gwA, addr("10.1.0.200"), "secret.", dns.TypeA, dns.RcodeNameError, nil, true},
		{"outside name forwarded", gwA, addr("10.1.0.2"), "outside.test.", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.77"}, true},
		{"sender outside the subnet", gwA, addr("192.0.2.9"), "db.", dns.TypeA, dns.RcodeRefused, nil, false},
		{"unknown gateway", addr("10.9.0.1"), addr("10.9.0.2"), "db.", dns.TypeA, dns.RcodeRefused, nil, false},
		{"p (internal only): vault", gwI, addr("10.3.0.2"), "vault.", dns.TypeA, dns.RcodeSuccess, []string{"10.3.0.2"}, false},
		{"p (internal only): outside refused", gwI, addr("10.3.0.2"), "outside.test.", dns.TypeA, dns.RcodeRefused, nil, false},
		{"p (internal only): web on A refused", gwI, addr("10.3.0.2"), "web.", dns.TypeA, dns.RcodeRefused, nil, false},
		{"q (internal and A) via I: forwarded", gwI, addr("10.3.0.3"), "outside.test.", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.77"}, true},
		{"q via I: worker on I", gwI, addr("10.3.0.3"), "worker.", dns.TypeA, dns.RcodeSuccess, []string{"10.3.0.3"}, false},
		{"x: worker on A", gwA, addr("10.1.0.2"), "worker.", dns.TypeA, dns.RcodeSuccess, []string{"10.1.0.13"}, false},
	} {
		before := len(stub.names())
		req := query(tt.name, tt.qtype)
		resp := r.respond(req, tt.gw, tt.src, true)
		if resp.Rcode != tt.rcode || !slices.Equal(answers(resp), tt.want) {
			t.Errorf("%s: %s %s → %s %v, want %s %v", tt.desc, tt.name, dns.TypeToString[tt.qtype],
				dns.RcodeToString[resp.Rcode], answers(resp), dns.RcodeToString[tt.rcode], tt.want)
		}
		if resp.Id != req.Id || len(resp.Question) != 1 || resp.Question[0].Name != tt.name {
			t.Errorf("%s: reply ID %d question %v, want ID %d and the question", tt.desc, resp.Id, resp.Question, req.Id)
		}
		if forwarded := len(stub.names()) > before; forwarded != tt.forwarded {
			t.Errorf("%s: forwarded = %v, want %v", tt.desc, forwarded, tt.forwarded)
		}
		for _, rr := range resp.Answer {
			if !tt.forwarded && rr.Header().Ttl != 0 {
				t.Errorf("%s: TTL %d, want 0", tt.desc, rr.Header().Ttl)
			}
		}
	}
}

// order lists the answer's addresses as they come.
func order(m *dns.Msg) string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return strings.Join(out, " ")
}

func TestRotation(t *testing.T) {
	r := newResponder(t, fixedView{testView()})
	gw, src := addr("10.1.0.1"), addr("10.1.0.2")
	var got []string
	for range 4 {
		got = append(got, order(r.respond(query("api.", dns.TypeA), gw, src, true)))
		// glibc asks for AAAA alongside: that must not make A step by two.
		r.respond(query("api.", dns.TypeAAAA), gw, src, true)
	}
	want := []string{"10.1.0.11 10.1.0.12", "10.1.0.12 10.1.0.11", "10.1.0.11 10.1.0.12", "10.1.0.12 10.1.0.11"}
	if !slices.Equal(got, want) {
		t.Errorf("api A answers in turn: %q, want %q", got, want)
	}
}

func TestForwardTruncatedRetriesOverTCP(t *testing.T) {
	// Over udp the stub only says "truncated"; over tcp it gives 60 addresses.
	stub := startStub(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncated = true
		} else {
			for i := range 60 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
					A: net.IPv4(127, 0, 1, byte(i+1))})
			}
		}
		_ = w.WriteMsg(m)
	})
	r := newResponder(t, fixedView{testView()}, stub.addr)
	gw, src := addr("10.1.0.1"), addr("10.1.0.2")

	overTCP := r.respond(query("many.test.", dns.TypeA), gw, src, false)
	if len(overTCP.Answer) != 60 || overTCP.Truncated {
		t.Errorf("client over tcp: %d answers, truncated %v; want all 60", len(overTCP.Answer), overTCP.Truncated)
	}
	// A udp client gets what fits in 512 bytes and TC, so that it asks again over tcp.
	overUDP := r.respond(query("many.test.", dns.TypeA), gw, src, true)
	if packed, _ := overUDP.Pack(); !overUDP.Truncated || len(packed) > dns.MinMsgSize || len(overUDP.Answer) == 0 {
		t.Errorf("client over udp: %d answers in %d bytes, truncated %v", len(overUDP.Answer), len(packed), overUDP.Truncated)
	}
	req := query("many.test.", dns.TypeA)
	req.SetEdns0(4096, false)
	if big := r.respond(req, gw, src, true); big.Truncated || len(big.Answer) != 60 {
		t.Errorf("udp client with EDNS 4096: %d answers, truncated %v", len(big.Answer), big.Truncated)
	}
}

func TestForwardFailover(t *testing.T) {
	good := startStub(t, answerOutside)
	failing := startStub(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		_ = w.WriteMsg(m.SetRcode(req, dns.RcodeServerFailure))
	})
	// silent reads queries and never answers: the forward must time out, not hang.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	gw, src := addr("10.1.0.1"), addr("10.1.0.2")

	r := newResponder(t, fixedView{testView()}, silent.LocalAddr().String(), failing.addr, good.addr)
	start := time.Now()
	resp := r.respond(query("outside.test.", dns.TypeA), gw, src, true)
	if !slices.Equal(answers(resp), []string{"127.0.0.77"}) {
		t.Errorf("after a silent and a failing upstream: %s %v", dns.RcodeToString[resp.Rcode], answers(resp))
	}
	if took := time.Since(start); took < r.timeout || took > 3*r.timeout {
		t.Errorf("took %v with one silent upstream and a timeout of %v", took, r.timeout)
	}
	if len(failing.names()) != 1 {
		t.Errorf("the failing upstream was asked %d times", len(failing.names()))
	}

	r = newResponder(t, fixedView{testView()}, failing.addr)
	if resp := r.respond(query("outside.test.", dns.TypeA), gw, src, true); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("only a failing upstream: %s, want its SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
	r = newResponder(t, fixedView{testView()}, silent.LocalAddr().String())
	if resp := r.respond(query("outside.test.", dns.TypeA), gw, src, true); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("only a silent upstream: %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
	r = newResponder(t, fixedView{testView()})
	if resp := r.respond(query("outside.test.", dns.TypeA), gw, src, true); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstream: %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
}

func TestForwardSkipsOwnGateways(t *testing.T) {
	// An upstream that is one of the served gateways would send the query round in a
	// loop. (Loopback addresses: should the check break, nothing leaves the host.)
	v := newView([]network.Network{{Spec: network.Spec{Name: "L", Subnets: []network.Subnet{subnet("127.0.53.0/24", "127.0.53.1")}}}}, nil)
	r := newResponder(t, fixedView{v}, "127.0.53.1:53")
	start := time.Now()
	resp := r.respond(query("outside.test.", dns.TypeA), addr("127.0.53.1"), addr("127.0.53.2"), true)
	if resp.Rcode != dns.RcodeServerFailure || time.Since(start) > 100*time.Millisecond {
		t.Errorf("own gateway as upstream: %s after %v, want SERVFAIL at once", dns.RcodeToString[resp.Rcode], time.Since(start))
	}
}

func TestUpstreams(t *testing.T) {
	u, err := newUpstreams(nil, " 127.0.0.1:5300, 127.0.0.2 ", "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.get(); len(got) != 2 || got[0].String() != "127.0.0.1:5300" || got[1].String() != "127.0.0.2:53" {
		t.Errorf("from the environment: %v", got)
	}
	u, _ = newUpstreams([]string{"127.0.0.3:53"}, "127.0.0.1:5300", "/nonexistent")
	if got := u.get(); len(got) != 1 || got[0].String() != "127.0.0.3:53" {
		t.Errorf("config over environment: %v", got)
	}
	if _, err := newUpstreams([]string{"resolver.example"}, "", ""); err == nil {
		t.Error("a host name accepted as upstream")
	}
	conf := t.TempDir() + "/resolv.conf"
	writeFile(t, conf, "# comment\nnameserver 127.0.0.53\nnameserver ::1\nsearch example\noptions edns0\n")
	u, _ = newUpstreams(nil, "", conf)
	if got := u.get(); len(got) != 2 || got[0].String() != "127.0.0.53:53" || got[1].String() != "[::1]:53" {
		t.Errorf("from resolv.conf: %v", got)
	}
	writeFile(t, conf, "nameserver 127.0.0.54\n")
	if got := u.get(); len(got) != 1 || got[0].String() != "127.0.0.54:53" {
		t.Errorf("after resolv.conf changed: %v", got)
	}
}
