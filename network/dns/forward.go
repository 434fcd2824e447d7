package dns

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// UpstreamEnv names the environment variable that overrides the host's resolvers when
// Config.Upstreams is empty: "ip:port[,ip:port]" (a bare ip means port 53).
const UpstreamEnv = "BERTH_DNS_UPSTREAM"

// forward asks the upstream resolvers in order and returns the first real answer. A
// SERVFAIL or REFUSED from one upstream is kept in case no other does better, as
// Docker's resolver does; with none at all the client gets SERVFAIL.
func (r *responder) forward(req *dns.Msg, udp bool, v *view) *dns.Msg {
	var fallback *dns.Msg
	var errs []string
	for _, up := range r.ups.get() {
		if _, ours := v.gateways[up.Addr()]; ours && up.Port() == 53 {
			continue // would come back to this responder
		}
		resp, err := r.exchange(req, up.String())
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused {
			fallback = resp
			continue
		}
		return fit(req, resp, udp)
	}
	if fallback != nil {
		return fit(req, fallback, udp)
	}
	if r.failLog.allow(10 * time.Second) {
		if len(errs) == 0 {
			errs = append(errs, "no upstream resolver configured")
		}
		r.logf("dns: forward %s: every upstream failed: %s", req.Question[0].Name, strings.Join(errs, "; "))
	}
	return failure(req, dns.RcodeServerFailure)
}

// exchange forwards req to one upstream over udp, and again over tcp when the answer
// came back truncated. The query goes out with an ID of its own: the client's IDs are
// not ours to trust against spoofed answers.
func (r *responder) exchange(req *dns.Msg, upstream string) (*dns.Msg, error) {
	q := req.Copy()
	q.Id = dns.Id()
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	resp, _, err := c.ExchangeContext(r.ctx, q, upstream)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		if full, _, tcpErr := c.ExchangeContext(r.ctx, q, upstream); tcpErr == nil {
			resp = full
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", upstream, err)
	}
	resp.Id = req.Id
	return resp, nil
}

// upstreams are the resolvers to forward to: fixed ones, or the nameservers of a
// resolv.conf, read again when it changes (a DHCP client or resolvconf rewrites it).
type upstreams struct {
	fixed      []netip.AddrPort
	resolvConf string
	mu         sync.Mutex
	mod        time.Time
	size       int64
	fromFile   []netip.AddrPort
}

// newUpstreams takes the configured list, else the environment's, else resolvConf's.
func newUpstreams(configured []string, env, resolvConf string) (*upstreams, error) {
	list := configured
	if len(list) == 0 && strings.TrimSpace(env) != "" {
		list = strings.Split(env, ",")
	}
	u := &upstreams{resolvConf: resolvConf}
	for _, s := range list {
		ap, err := parseUpstream(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		u.fixed = append(u.fixed, ap)
	}
	return u, nil
}

func parseUpstream(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	return netip.AddrPort{}, fmt.Errorf("upstream resolver %q: want ip or ip:port", s)
}

// get returns the current upstreams.
func (u *upstreams) get() []netip.AddrPort {
	if len(u.fixed) > 0 {
		return u.fixed
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fi, err := os.Stat(u.resolvConf)
	if err != nil {
		u.fromFile, u.mod = nil, time.Time{}
		return nil
	}
	if fi.ModTime().Equal(u.mod) && fi.Size() == u.size && time.Since(u.mod) > racyWindow {
		return u.fromFile
	}
	u.mod, u.size, u.fromFile = fi.ModTime(), fi.Size(), nil
	conf, err := dns.ClientConfigFromFile(u.resolvConf)
	if err != nil {
		return nil
	}
	for _, s := range conf.Servers {
		if a, err := netip.ParseAddr(s); err == nil {
			u.fromFile = append(u.fromFile, netip.AddrPortFrom(a.Unmap(), 53))
		}
	}
	return u.fromFile
}
