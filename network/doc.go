// Package network owns berth's private virtual networks: one Linux bridge per network,
// with a container's interfaces, addresses, routes, published ports and the host's
// firewall rules set up by one of two backends. It knows nothing of compose: the
// reconciler converts compose networks to a Spec.
//
// # Backends
//
// The native backend (the default) does it in-process: the veth pair is created with
// its container end right in the named namespace, addresses and routes through
// netlink, leases in host-local's files, and the rules written with iptables-restore
// into the same chains and tables as the plugins use (fwrules.go): a network's own
// rules (masquerading, forward accepts, isolation, DNS) once by Ensure, and a
// container's published ports in a chain of its own, batched with every concurrent
// attach or detach into one iptables-restore (fwapply.go). The CNI backend runs the
// plugins (bridge, host-local, portmap, firewall, tuning) through
// github.com/containerd/go-cni. Config.Backend picks the backend of new networks;
// each network and each attachment records the one that made it, and teardown uses
// that one. A container attached to any CNI network is set up by CNI on all of its
// networks, which works on native ones too: the bridge and the leases are the same.
//
// # API
//
//	m, err := NewManager(Config{DataRoot: root})
//	n, err := m.Ensure(ctx, Spec{Name: "proj_default"})   // idempotent; ErrConflict names the field
//	path, err := m.CreateNetNS(containerID)                 // /run/berth/netns/<root-id>/<containerID>
//	ifaces, ports, err := m.Attach(ctx, path, req)          // lo + eth0…; undone on failure
//	ids, err := m.Attachments("proj_default")
//	err = m.Detach(ctx, path, req)                          // undoes the attach, deletes the netns
//	err = m.Remove(ctx, "proj_default")                     // ErrInUse while attached
//	eps, err := m.Endpoints()                               // addresses and names, for DNS
//
// Get and List read the state; FindCNIPath finds the plugins. Package network/dns
// answers the containers' DNS queries from Endpoints on each network's gateway.
//
// # State
//
// Everything lives under DataRoot/networks: one JSON file per network (<name>.json), one
// per attached container (attachments/<containerID>.json) and host-local's leases
// (ipam/<cni-name>/, which the native backend reads and writes as host-local does). Files
// are replaced by an atomic rename under the data root's file lock
// (DataRoot/networks/lock). Attachment records are written before the first change to
// the host, so a crash mid-attach leaves a record that Detach can clean up after.
//
// # Names
//
// A network's bridge is br-<12 hex of sha256(DataRoot, name)> unless Spec.BridgeName
// overrides it, and its CNI network name (which keys CNI's result cache, the plugins'
// iptables chains and comments, and host-local's lease directory) is berth-<same hex>:
// two data roots that both have "proj_default" never share a bridge, a chain or a lease.
// The bridge's MAC address is derived from its name too, and set: left to the kernel it
// would follow the bridge's ports, and the containers' cached gateway address would go
// stale whenever a container leaves.
// Interfaces in the container are eth0, eth1, … in the order Docker uses: higher
// Attachment.Priority first, ties by network name. The first non-internal network
// carries the default route and the published ports.
//
// # Host-wide coordination
//
// Subnets are allocated under /run/berth/subnets.lock, and Ensure creates the bridge
// (with its gateway address) before it lets go of the lock: the bridge's connected route
// is how every other data root, and any other tool, sees that the subnet is taken.
// A port published through portmap's DNAT has no listening socket that a probe would
// hit, so published ports are checked (a bind probe, portmap's DNAT rules, berth's
// reservations) and reserved under /run/berth/ports.lock: one file per port in
// /run/berth/ports, naming the owner's attachment record, deleted by Detach. A
// reservation whose record is gone is stale and is cleared by the next check.
//
// # Firewall
//
// The native backend writes what the plugins write, in their chains and with their
// comments, so that both backends and other CNI users on the host share one set of
// chains: CNI-FORWARD (jumped from the top of FORWARD, below the isolation jump, so
// that its accepts hold on a host whose FORWARD policy is DROP, as Docker's is) with
// a network's accepts (from the bridge, replies to it, and DNATed connections to its
// published ports, as Docker accepts them), CNI-ISOLATION-STAGE-1/2, and portmap's
// CNI-HOSTPORT-DNAT/-SETMARK/-MASQ. A native network's masquerading is one chain per
// network, CNI-<hash of its CNI name>, jumped from POSTROUTING for its subnet. Every
// rule of a native network carries the comment name: "<cni-name>" id: "" (and a
// container's port rules "dnat name: … id: <container>"), so that the removal of a
// network, which deletes every rule tagged with its CNI name, takes them all.
//
// Isolation between networks is the firewall plugin's "same-bridge" ingress policy; its
// CNI-ISOLATION rules outlive CNI DEL (and parallel ADDs can duplicate them), so Remove
// deletes every copy that names the network's bridge. Internal networks get no default
// route, no masquerading, and two DROP rules in berth's own BERTH-INTERNAL chain, jumped
// from the mangle table's FORWARD chain: mangle runs before filter, so the firewall
// plugin's ACCEPT rules, which it inserts at the top of filter's FORWARD on first use,
// cannot overtake them. The chain and its jump go when the last internal network does.
// Every network also gets two ACCEPT rules (udp and tcp to its gateway, port 53, from
// its bridge) in berth's BERTH-DNS chain, jumped from the top of filter's INPUT, so
// that the DNS responder stays reachable on a host whose INPUT policy is DROP; the
// chain and its jump go with the last network of any data root.
// The plugins' shared chains (CNI-FORWARD, CNI-HOSTPORT-*, CNI-ISOLATION-STAGE-*) are
// left in place: other CNI users on the host share them. A failed Attach leaves nothing
// of its own; the isolation rules its ADD may have added belong to the network.
package network
