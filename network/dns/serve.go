package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/berth-dev/berth/network"
)

// Config sets up Serve.
type Config struct {
	// DataRoot is berth's data root, whose networks are served.
	DataRoot string
	// Upstreams are the resolvers ("ip:port", or "ip" for port 53) that names berth does
	// not know are forwarded to. Empty: $BERTH_DNS_UPSTREAM, else the nameservers of the
	// host's /etc/resolv.conf, read again when it changes.
	Upstreams []string
	// IdleExit makes Serve return after no network has existed for this long; 0 never.
	IdleExit time.Duration
	// Logf receives what the responder has to say (bind failures, upstreams down); nil
	// discards it.
	Logf func(format string, args ...any)
	// Lease, when set, is the helper process's claim to be the data root's only
	// responder (internal/daemon's Lease implements it).
	Lease Lease
}

// Lease is the lock a helper process holds while it serves. Serve calls Ready once the
// networks that exist at start are served. Before an idle exit it calls Release, looks
// for networks once more, and when one appeared calls Reacquire and serves on: a
// starter that saw the lease held before Release created its network before, so the
// last look sees it, and one that came after Release starts a new helper. Reacquire
// failing means such a new helper holds the lease, and Serve returns.
type Lease interface {
	Ready() error
	Release()
	Reacquire() error
}

const (
	// pollInterval is how often the state is read when no change notice comes.
	pollInterval = 500 * time.Millisecond
	// forwardTimeout is the time each upstream gets to answer.
	forwardTimeout = 2 * time.Second
)

// options are what tests change: a port other than 53 needs no root.
type options struct {
	port       uint16
	resolvConf string
	timeout    time.Duration
}

// Serve answers DNS queries on every network's gateway until ctx ends (it then returns
// nil) or, with IdleExit, until no network has existed for that long. It fails only
// when it cannot start; a gateway it cannot bind is logged, shown by Status and tried
// again.
func Serve(ctx context.Context, cfg Config) error {
	return serve(ctx, cfg, options{port: 53, resolvConf: "/etc/resolv.conf", timeout: forwardTimeout})
}

func serve(ctx context.Context, cfg Config, o options) error {
	if cfg.DataRoot == "" {
		return errors.New("serve DNS: empty data root")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ups, err := newUpstreams(cfg.Upstreams, os.Getenv(UpstreamEnv), o.resolvConf)
	if err != nil {
		return fmt.Errorf("serve DNS: %w", err)
	}
	m, err := network.NewManager(network.Config{DataRoot: cfg.DataRoot})
	if err != nil {
		return fmt.Errorf("serve DNS: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{cfg: cfg, m: m, state: newState(m, cfg.Logf), rep: &reporter{path: statusPath(cfg.DataRoot)}}
	s.resp = &responder{ctx: ctx, state: s.state, ups: ups, timeout: o.timeout, logf: cfg.Logf}
	s.ls = newListeners(o.port, s.resp.handler, cfg.Logf)
	defer s.rep.remove()
	defer s.ls.closeAll()
	wake, stop, err := watch(m.StateDirs()[0])
	if err != nil {
		cfg.Logf("dns: %v; polling every %v instead", err, pollInterval)
	}
	defer stop()
	return s.run(ctx, wake)
}

type server struct {
	cfg   Config
	m     *network.Manager
	state *state
	resp  *responder
	ls    *listeners
	rep   *reporter
}

// run follows the networks until ctx ends or the responder has been idle long enough.
func (s *server) run(ctx context.Context, wake <-chan struct{}) error {
	idleSince := time.Now()
	lastWriteErr := ""
	for first := true; ; first = false {
		v, err := s.state.get()
		s.ls.sync(gatewaySet(v))
		if werr := s.rep.write(s.report(v)); werr != nil && werr.Error() != lastWriteErr {
			s.cfg.Logf("dns: %v", werr) // once per cause: it is tried again every round
			lastWriteErr = werr.Error()
		} else if werr == nil {
			lastWriteErr = ""
		}
		if first && s.cfg.Lease != nil {
			if err := s.cfg.Lease.Ready(); err != nil {
				return fmt.Errorf("serve DNS: report ready: %w", err)
			}
		}
		wait := pollInterval
		switch {
		case len(v.nets) > 0 || err != nil || s.cfg.IdleExit <= 0:
			idleSince = time.Now()
		case time.Since(idleSince) >= s.cfg.IdleExit:
			if s.retire() {
				return nil
			}
			idleSince = time.Now()
		default:
			wait = min(wait, s.cfg.IdleExit-time.Since(idleSince))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(wait):
		}
	}
}

// retire decides an idle exit; see Lease for why it looks once more after Release.
func (s *server) retire() bool {
	if s.cfg.Lease == nil {
		return true
	}
	s.cfg.Lease.Release()
	nets, err := s.m.List()
	if err == nil && len(nets) == 0 {
		s.cfg.Logf("dns: no network for %v: exiting", s.cfg.IdleExit)
		return true
	}
	if err := s.cfg.Lease.Reacquire(); err != nil {
		s.cfg.Logf("dns: a network appeared while exiting, and another helper serves it: %v", err)
		return true
	}
	return false
}

// gatewaySet is every gateway address of every network.
func gatewaySet(v *view) map[netip.Addr]bool {
	want := map[netip.Addr]bool{}
	for gw := range v.gateways {
		want[gw] = true
	}
	return want
}

// report describes what is served now.
func (s *server) report(v *view) Report {
	r := Report{PID: os.Getpid()}
	for _, up := range s.resp.ups.get() {
		r.Upstreams = append(r.Upstreams, up.String())
	}
	for name, n := range v.nets {
		sv := Served{Network: name}
		for _, sn := range n.Subnets {
			if s.ls.active[sn.Gateway] != nil {
				sv.Addrs = append(sv.Addrs, sn.Gateway)
			} else if why, ok := s.ls.failed[sn.Gateway]; ok {
				sv.Errors = append(sv.Errors, why)
			}
		}
		r.Networks = append(r.Networks, sv)
	}
	return r
}
