package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// The native backend keeps host-local's leases as they are on disk, so that networks
// made before the upgrade, and containers attached to them through CNI, share one
// address space with the native path: a directory per network (DataRoot/networks/ipam/
// <cni name>), one file per leased address named by the address and holding
// "<container ID>\r\n<ifname>", last_reserved_ip.<range index> with the address last
// handed out (allocation goes round-robin from there), and a file "lock" that
// host-local flocks around every change, as this code does.

// leaseLineBreak separates the container ID from the interface name, as host-local
// writes it.
const leaseLineBreak = "\r\n"

// leaseStore is one network's host-local directory.
type leaseStore struct{ dir string }

func (m *Manager) leaseStore(n Network) leaseStore {
	return leaseStore{dir: filepath.Join(m.ipamDir(), n.CNIName)}
}

// leaseRange is the part of a subnet host-local hands out: start to end inclusive,
// skipping the gateway. Its index in the network's subnets names its
// last_reserved_ip file.
type leaseRange struct {
	index      int
	start, end netip.Addr
	gateway    netip.Addr
}

// rangeFor is the range host-local uses for subnet i of n: the subnet's host addresses
// (IPv4 without the broadcast address), or its ip_range clipped to them.
func rangeFor(n Network, i int) leaseRange {
	sn := n.Subnets[i]
	r := leaseRange{index: i, gateway: sn.Gateway, start: firstHost(sn.Subnet), end: lastAddr(sn.Subnet)}
	if sn.Subnet.Addr().Is4() {
		r.end = r.end.Prev()
	}
	if rj := rangeOf(sn); rj.RangeStart != "" {
		r.start, r.end = netip.MustParseAddr(rj.RangeStart), netip.MustParseAddr(rj.RangeEnd)
	}
	return r
}

func (r leaseRange) contains(a netip.Addr) bool {
	return a.BitLen() == r.start.BitLen() && r.start.Compare(a) <= 0 && a.Compare(r.end) <= 0
}

// allocate leases one address of each of n's subnets to the container's interface:
// want's address of that family when it has one, otherwise the next free one after
// the last handed out. It leases all or nothing.
func (s leaseStore) allocate(n Network, containerID, ifName string, want ...netip.Addr) ([]netip.Addr, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var got []netip.Addr
	for i := range n.Subnets {
		r := rangeFor(n, i)
		var a netip.Addr
		for _, w := range want {
			if w.IsValid() && w.Is4() == r.start.Is4() {
				a = w
			}
		}
		if a.IsValid() {
			err = s.reserveStatic(r, a, containerID, ifName)
		} else {
			a, err = s.reserveNext(r, containerID, ifName)
		}
		if err != nil {
			s.releaseLocked(containerID, ifName, got)
			return nil, fmt.Errorf("lease an address of %s: %w", n.Subnets[i].Subnet, err)
		}
		got = append(got, a)
	}
	return got, nil
}

func (s leaseStore) reserveStatic(r leaseRange, a netip.Addr, containerID, ifName string) error {
	if !r.contains(a) {
		return fmt.Errorf("requested address %s is outside the range %s-%s", a, r.start, r.end)
	}
	if a == r.gateway {
		return fmt.Errorf("requested address %s is the gateway", a)
	}
	ok, err := s.reserve(r, a, containerID, ifName)
	if err == nil && !ok {
		err = fmt.Errorf("requested address %s is already in use", a)
	}
	return err
}

// reserveNext walks the range as host-local does: from the address after the last one
// reserved (or from the start), wrapping around once.
func (s leaseStore) reserveNext(r leaseRange, containerID, ifName string) (netip.Addr, error) {
	first := r.start
	if last, err := os.ReadFile(s.lastFile(r)); err == nil {
		if a, err := netip.ParseAddr(strings.TrimSpace(string(last))); err == nil && r.contains(a) {
			first = a.Next()
			if !r.contains(first) {
				first = r.start
			}
		}
	}
	a := first
	for {
		if a != r.gateway {
			ok, err := s.reserve(r, a, containerID, ifName)
			if err != nil {
				return netip.Addr{}, err
			}
			if ok {
				return a, nil
			}
		}
		if a = a.Next(); !r.contains(a) {
			a = r.start
		}
		if a == first {
			return netip.Addr{}, fmt.Errorf("no free address left in %s-%s", r.start, r.end)
		}
	}
}

// reserve creates the lease file of a; false when another container holds it.
func (s leaseStore) reserve(r leaseRange, a netip.Addr, containerID, ifName string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, a.String()), os.O_RDWR|os.O_EXCL|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := f.WriteString(containerID + leaseLineBreak + ifName); err != nil {
		f.Close()
		os.Remove(f.Name())
		return false, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return false, err
	}
	return true, os.WriteFile(s.lastFile(r), []byte(a.String()), 0o644)
}

func (s leaseStore) lastFile(r leaseRange) string {
	return filepath.Join(s.dir, fmt.Sprintf("last_reserved_ip.%d", r.index))
}

// release frees the container's leases on the interface: the addresses given, or with
// none (an attach that died before it recorded them) every lease the interface holds.
// Leases of other holders are never touched.
func (s leaseStore) release(containerID, ifName string, addrs []netip.Addr) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.releaseLocked(containerID, ifName, addrs)
}

func (s leaseStore) releaseLocked(containerID, ifName string, addrs []netip.Addr) error {
	var names []string
	for _, a := range addrs {
		if a.IsValid() {
			names = append(names, a.String())
		}
	}
	if len(names) == 0 {
		entries, err := os.ReadDir(s.dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("release leases of %s: %w", containerID, err)
		}
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	var errs []error
	for _, name := range names {
		if _, err := netip.ParseAddr(name); err != nil {
			continue // lock, last_reserved_ip.N
		}
		path := filepath.Join(s.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue // gone already
		}
		// host-local before 0.8 wrote the container ID alone
		if held := strings.TrimSpace(string(data)); held == containerID+leaseLineBreak+ifName || held == containerID {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("release leases of %s: %w", containerID, err)
	}
	return nil
}

// lock takes host-local's lock of the directory, creating both as host-local does.
func (s leaseStore) lock() (func(), error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("lease store: %w", err)
	}
	return lockPath(filepath.Join(s.dir, "lock"))
}
