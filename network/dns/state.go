package dns

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/network"
)

// view is one reading of the data root's state, indexed for answering queries.
type view struct {
	nets     map[string]network.Network
	gateways map[netip.Addr]string         // gateway address → network
	owners   map[addrKey]string            // address on a network → container ID
	attached map[string][]string           // container ID → its networks
	names    map[string][]network.Endpoint // canonical name → the endpoints carrying it
}

type addrKey struct {
	network string
	addr    netip.Addr
}

func newView(nets []network.Network, eps []network.Endpoint) *view {
	v := &view{
		nets:     map[string]network.Network{},
		gateways: map[netip.Addr]string{},
		owners:   map[addrKey]string{},
		attached: map[string][]string{},
		names:    map[string][]network.Endpoint{},
	}
	for _, n := range nets {
		v.nets[n.Name] = n
		for _, sn := range n.Subnets {
			v.gateways[sn.Gateway] = n.Name
		}
	}
	for _, e := range eps {
		if _, ok := v.nets[e.Network]; !ok {
			continue
		}
		for _, a := range []netip.Addr{e.IPv4, e.IPv6} {
			if a.IsValid() {
				v.owners[addrKey{e.Network, a}] = e.ContainerID
			}
		}
		v.attached[e.ContainerID] = append(v.attached[e.ContainerID], e.Network)
		seen := map[string]bool{}
		for _, name := range e.Names {
			if c := canonical(name); c != "" && !seen[c] {
				seen[c] = true
				v.names[c] = append(v.names[c], e)
			}
		}
	}
	return v
}

// canonical is the form names are compared in: DNS names are case-insensitive, and
// "db." and "db" are the same name to a resolver that appended no search domain.
func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// inSubnets reports whether src is an address of the network's subnets.
func (v *view) inSubnets(networkName string, src netip.Addr) bool {
	for _, sn := range v.nets[networkName].Subnets {
		if sn.Subnet.Contains(src) {
			return true
		}
	}
	return false
}

// askerNetworks are the networks whose names the sender of a query may resolve: the
// one the query came in on, then the other networks of the container owning src
// there, by name. An address no container owns (the host, a container whose Attach
// has not finished) gets the arrival network alone.
func (v *view) askerNetworks(arrival string, src netip.Addr) []string {
	nets := []string{arrival}
	id, ok := v.owners[addrKey{arrival, src}]
	if !ok {
		return nets
	}
	others := slices.Clone(v.attached[id])
	slices.Sort(others)
	for _, n := range slices.Compact(others) {
		if n != arrival {
			nets = append(nets, n)
		}
	}
	return nets
}

// internalOnly reports whether all of nets are internal: such an asker has no way out,
// so its queries for outside names are refused rather than forwarded.
func (v *view) internalOnly(nets []string) bool {
	for _, n := range nets {
		if !v.nets[n].Internal {
			return false
		}
	}
	return true
}

// lookup returns the addresses of the containers that carry name on one of nets
// (ranked: the first network wins), one per container and family, sorted; found says
// whether any endpoint carries the name, even one without an address of a family.
func (v *view) lookup(name string, nets []string) (v4, v6 []netip.Addr, found bool) {
	rank := map[string]int{}
	for i, n := range nets {
		rank[n] = i
	}
	best := [2]map[string]netip.Addr{{}, {}} // per family: container ID → address
	bestRank := [2]map[string]int{{}, {}}
	for _, e := range v.names[name] {
		r, ok := rank[e.Network]
		if !ok {
			continue
		}
		found = true
		for fam, a := range []netip.Addr{e.IPv4, e.IPv6} {
			cur, seen := bestRank[fam][e.ContainerID]
			if a.IsValid() && (!seen || r < cur) {
				best[fam][e.ContainerID], bestRank[fam][e.ContainerID] = a, r
			}
		}
	}
	v4, v6 = sortedValues(best[0]), sortedValues(best[1])
	return v4, v6, found
}

func sortedValues(m map[string]netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// racyWindow: directory modification times come from the kernel's coarse clock, so two
// changes within one tick can leave the same time behind. A view read while the newest
// change is this recent is read again on the next use.
const racyWindow = time.Second

// state caches the view and reads it again when the state directories change.
type state struct {
	m     *network.Manager
	dirs  []string
	logf  func(string, ...any)
	mu    sync.Mutex
	stamp []time.Time
	cur   *view
	err   error // of the last read, logged once per different error
}

func newState(m *network.Manager, logf func(string, ...any)) *state {
	return &state{m: m, dirs: m.StateDirs(), logf: logf, cur: newView(nil, nil)}
}

// get returns the current view. When the state cannot be read it returns the last
// good one with the error: an answer from a moment ago beats none.
func (s *state) get() (*view, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamp, stampErr := s.stamps()
	if stampErr == nil && s.stamp != nil && slices.EqualFunc(stamp, s.stamp, time.Time.Equal) &&
		time.Since(slices.MaxFunc(stamp, time.Time.Compare)) > racyWindow {
		return s.cur, nil
	}
	nets, err := s.m.List()
	var eps []network.Endpoint
	if err == nil {
		eps, err = s.m.Endpoints()
	}
	if err != nil {
		if s.err == nil || s.err.Error() != err.Error() {
			s.logf("dns: read state: %v", err)
		}
		s.err, s.stamp = err, nil
		return s.cur, err
	}
	s.cur, s.err = newView(nets, eps), nil
	if s.stamp = stamp; stampErr != nil {
		s.stamp = nil
	}
	return s.cur, nil
}

// stamps are the state directories' modification times, taken before the state is
// read: a change during the read makes the next stamp differ.
func (s *state) stamps() ([]time.Time, error) {
	out := make([]time.Time, len(s.dirs))
	for i, d := range s.dirs {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		out[i] = fi.ModTime()
	}
	return out, nil
}
