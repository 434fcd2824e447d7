// Package dns is berth's embedded DNS responder, the counterpart of Docker's embedded
// resolver and podman's aardvark-dns: service discovery by real DNS rather than by
// static hosts files. One responder per data root (run by the berth helper process,
// see internal/daemon) listens on port 53, udp and tcp, of every network's gateway
// addresses, and follows networks as they come and go.
//
// # Answers
//
// A query is answered from the data root's current state (network.Manager's List and
// Endpoints, read again whenever the state directories change), with TTL 0, so names
// follow containers that are recreated, scaled or removed. The asker is the container
// that owns the query's source address on the network whose gateway it was sent to;
// it may resolve the names (network.Endpoint.Names) of every endpoint on the networks
// it is attached to, each answered with the address on a shared network, the one the
// query came in on first. A name several containers carry resolves to all of their
// addresses, rotated between queries. Names are case-insensitive, with or without the
// trailing dot. A name that is known but has no address of the asked type gets an
// empty answer, not a forwarded one.
//
// Other names are forwarded to the upstream resolvers: Config.Upstreams, else
// $BERTH_DNS_UPSTREAM (ip:port[,ip:port]), else the nameservers of the host's
// /etc/resolv.conf, which being on the host may be loopback ones such as 127.0.0.53.
// Forwarding is over udp, again over tcp when the answer was truncated, 2 s per
// upstream, SERVFAIL when every upstream fails. An asker attached only to internal
// networks is refused (REFUSED) what it cannot resolve locally, as Docker does, since
// its networks promise no way out. Queries from outside the network's subnets are
// refused too: the responder is no open resolver.
//
// # State
//
// A running responder writes DataRoot/dns/status.json (which networks and addresses
// it serves, why one is not, its upstreams); Status reads it for `berth doctor`, and
// WaitServed waits until given networks are served.
package dns
