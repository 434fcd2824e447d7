package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// shutdownGrace bounds how long closing a listener waits for its in-flight queries.
const shutdownGrace = 300 * time.Millisecond

// listeners keeps one udp and one tcp server on each wanted gateway address.
type listeners struct {
	port    uint16
	handler func(gw netip.Addr) dns.Handler
	logf    func(string, ...any)
	active  map[netip.Addr]*listener
	failed  map[netip.Addr]string // why an address could not be bound, last time
}

type listener struct{ udp, tcp *dns.Server }

func newListeners(port uint16, handler func(netip.Addr) dns.Handler, logf func(string, ...any)) *listeners {
	return &listeners{port: port, handler: handler, logf: logf,
		active: map[netip.Addr]*listener{}, failed: map[netip.Addr]string{}}
}

// sync binds the wanted addresses that are not bound yet (those that fail are tried
// again on the next call: the bridge may not be up yet after a reboot) and closes the
// ones no longer wanted.
func (ls *listeners) sync(want map[netip.Addr]bool) {
	for a, l := range ls.active {
		if !want[a] {
			l.close()
			delete(ls.active, a)
			ls.logf("dns: stopped serving %s", netip.AddrPortFrom(a, ls.port))
		}
	}
	for a := range ls.failed {
		if !want[a] {
			delete(ls.failed, a)
		}
	}
	for a := range want {
		if ls.active[a] != nil {
			continue
		}
		ap := netip.AddrPortFrom(a, ls.port)
		l, err := listen(ap, ls.handler(a))
		if err != nil {
			if ls.failed[a] != err.Error() {
				ls.logf("dns: %v (trying again as the state changes)", err)
			}
			ls.failed[a] = err.Error()
			continue
		}
		delete(ls.failed, a)
		ls.active[a] = l
		ls.logf("dns: serving %s", ap)
	}
}

func (ls *listeners) closeAll() {
	for a, l := range ls.active {
		l.close()
		delete(ls.active, a)
	}
}

// listen binds ap for udp and tcp and returns once both servers read: queries that
// arrive before are queued by the kernel, so the address is served from here on.
func listen(ap netip.AddrPort, h dns.Handler) (*listener, error) {
	pc, err := net.ListenPacket("udp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("serve DNS on %s/udp: %w", ap, err)
	}
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("serve DNS on %s/tcp: %w", ap, err)
	}
	l := &listener{
		udp: &dns.Server{PacketConn: pc, Handler: h, UDPSize: dns.DefaultMsgSize},
		tcp: &dns.Server{Listener: ln, Handler: h},
	}
	errU, errT := start(l.udp), start(l.tcp)
	if err := errors.Join(errU, errT); err != nil {
		pc.Close()
		ln.Close()
		return nil, fmt.Errorf("serve DNS on %s: %w", ap, err)
	}
	return l, nil
}

// start runs srv and waits until it serves or fails to start.
func start(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		if err == nil {
			err = errors.New("server stopped at once")
		}
		return err
	}
}

// close stops both servers; the sockets are closed even when queries are in flight.
func (l *listener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = l.udp.ShutdownContext(ctx)
	_ = l.tcp.ShutdownContext(ctx)
}
