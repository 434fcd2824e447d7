// Package network owns berth's private virtual networks: one Linux bridge per network,
// driven through the CNI plugins (bridge, host-local, portmap, firewall, tuning) with
// github.com/containerd/go-cni, plus the few host firewall rules the plugins do not make.
// It knows nothing of compose: the reconciler converts compose networks to a Spec.
//
// # API
//
//	m, err := NewManager(Config{DataRoot: root})
//	n, err := m.Ensure(ctx, Spec{Name: "proj_default"})   // idempotent; ErrConflict names the field
//	path, err := m.CreateNetNS(containerID)                 // /run/berth/netns/<root-id>/<containerID>
//	ifaces, ports, err := m.Attach(ctx, path, req)          // lo + eth0…; undone on failure
//	ids, err := m.Attachments("proj_default")
//	err = m.Detach(ctx, path, req)                          // CNI DEL, sweeps, deletes the netns
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
// (ipam/<cni-name>/). Files are replaced by an atomic rename under the data root's file
// lock (DataRoot/networks/lock). Attachment records are written before the first CNI ADD,
// so a crash mid-attach leaves a record that Detach can clean up after.
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
