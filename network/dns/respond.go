package dns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the UDP payload size the responder advertises: the DNS flag day's value,
// which no path MTU fragments.
const ednsSize = 1232

// viewer gives the current view; *state reads it from the data root.
type viewer interface {
	get() (*view, error)
}

// responder answers the queries of every listener.
type responder struct {
	ctx     context.Context // ends in-flight forwards when Serve returns
	state   viewer
	ups     *upstreams
	timeout time.Duration // per upstream
	rot     rotor
	logf    func(string, ...any)
	failLog rateLimit
}

// handler answers the queries that arrive on the gateway address gw.
func (r *responder) handler(gw netip.Addr) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		var src netip.Addr
		udp := false
		switch a := w.RemoteAddr().(type) {
		case *net.UDPAddr:
			src, udp = a.AddrPort().Addr(), true
		case *net.TCPAddr:
			src = a.AddrPort().Addr()
		}
		// A client that went away is no one's problem.
		_ = w.WriteMsg(r.respond(req, gw, src.Unmap(), udp))
	})
}

// respond decides how to answer req, sent from src to the gateway address gw.
func (r *responder) respond(req *dns.Msg, gw, src netip.Addr, udp bool) *dns.Msg {
	if req.Opcode != dns.OpcodeQuery {
		return failure(req, dns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return failure(req, dns.RcodeFormatError)
	}
	v, _ := r.state.get() // on error, the last good view; state logs it
	arrival, ok := v.gateways[gw]
	if !ok || !v.inSubnets(arrival, src) {
		return failure(req, dns.RcodeRefused)
	}
	nets := v.askerNetworks(arrival, src)
	q := req.Question[0]
	if q.Qclass == dns.ClassINET || q.Qclass == dns.ClassANY {
		if v4, v6, found := v.lookup(canonical(q.Name), nets); found {
			return r.local(req, v4, v6, udp)
		}
	}
	if v.internalOnly(nets) {
		return failure(req, dns.RcodeRefused)
	}
	return r.forward(req, udp, v)
}

// local answers a name berth knows with the addresses of the asked type, rotated; a
// type without addresses gets an empty answer (NODATA) so that the resolver does not
// go on to ask the world about a container's name.
func (r *responder) local(req *dns.Msg, v4, v6 []netip.Addr, udp bool) *dns.Msg {
	q := req.Question[0]
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable = true, true
	name := canonical(q.Name)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 0}
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		for _, a := range r.rot.rotate(name, dns.TypeA, v4) {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
		}
	}
	if q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY {
		for _, a := range r.rot.rotate(name, dns.TypeAAAA, v6) {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(ednsSize, opt.Do())
	}
	return fit(req, m, udp)
}

// fit truncates a UDP answer to what the client can take, setting TC so that it asks
// again over tcp.
func fit(req, m *dns.Msg, udp bool) *dns.Msg {
	if !udp {
		return m
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(size, int(opt.UDPSize()))
	}
	m.Truncate(size)
	return m
}

func failure(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.RecursionAvailable = true
	return m
}

// rotor turns the answers for a name by one place per query, per name and type: glibc
// asks for A and AAAA together, and one counter for both would step by two.
type rotor struct {
	mu   sync.Mutex
	next map[rotKey]uint32
}

type rotKey struct {
	name  string
	qtype uint16
}

// maxRotors bounds the counters; forgetting them all now and then only restarts the turn.
const maxRotors = 4096

func (r *rotor) rotate(name string, qtype uint16, addrs []netip.Addr) []netip.Addr {
	if len(addrs) < 2 {
		return addrs
	}
	r.mu.Lock()
	if r.next == nil || len(r.next) >= maxRotors {
		r.next = map[rotKey]uint32{}
	}
	k := rotKey{name, qtype}
	n := r.next[k]
	r.next[k] = n + 1
	r.mu.Unlock()
	off := int(n % uint32(len(addrs)))
	return append(slices.Clone(addrs[off:]), addrs[:off]...)
}

// rateLimit lets a message through at most once per interval, so that an upstream
// that is down does not flood the helper's log.
type rateLimit struct {
	mu   sync.Mutex
	last time.Time
}

func (l *rateLimit) allow(interval time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.last) < interval {
		return false
	}
	l.last = time.Now()
	return true
}
