package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/network/netspec"
)

// Ensure creates the network, or returns it when it exists. An existing network whose
// spec differs returns an error that names the field and wraps ErrConflict. For an
// existing network it also puts back what a reboot takes away: the bridge and the
// internal rules. A subnet, given or allocated, must overlap none of the host's routes
// and addresses (but those of its own bridge) and none of the data root's networks.
//
// A native network's firewall rules are not Ensure's: the first Attach to it writes
// them, together with those of the other networks attached to at the same time, while
// the containers' interfaces are being made (see Attach). They matter only once a
// container is on the network, and up need not wait for them before it creates its
// containers.
func (m *Manager) Ensure(ctx context.Context, spec Spec) (Network, error) {
	if err := spec.Check(); err != nil {
		return Network{}, fmt.Errorf("create network %q: %w", spec.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return Network{}, fmt.Errorf("create network %q: %w", spec.Name, err)
	}
	n, err := m.ensureState(spec)
	if err != nil {
		return Network{}, fmt.Errorf("create network %q: %w", spec.Name, err)
	}
	return n, nil
}

// ensureState creates the network's bridge and saves its state, or checks and puts
// back an existing one, under the data root's lock.
func (m *Manager) ensureState(spec Spec) (Network, error) {
	unlock, err := m.lock()
	if err != nil {
		return Network{}, err
	}
	defer unlock()
	n, err := m.get(spec.Name)
	if err == nil {
		if err := n.conflict(spec); err != nil {
			return Network{}, err
		}
		return n, m.setUpHost(&n, false)
	}
	if !errors.Is(err, ErrNotFound) {
		return Network{}, err
	}
	if n, err = m.newNetwork(spec); err != nil {
		return Network{}, err
	}
	if err := m.setUpHost(&n, true); err != nil {
		return Network{}, err
	}
	if err := writeJSON(m.networkFile(n.Name), n); err != nil {
		_ = m.tearDownHost(n)
		return Network{}, fmt.Errorf("save state: %w", err)
	}
	return n, nil
}

// newNetwork fills in the names and the default gateways, and checks the bridge name
// against the data root's other networks. The caller holds the data root's lock; the
// subnets the spec leaves open are allocated later, in setUpHost.
func (m *Manager) newNetwork(spec Spec) (Network, error) {
	n := Network{
		Spec:    spec,
		Bridge:  spec.BridgeName,
		CNIName: cniName(m.dataRoot, spec.Name),
		Created: time.Now().UTC().Truncate(time.Second),
		Backend: m.backend,
	}
	if n.Bridge == "" {
		n.Bridge = bridgeName(m.dataRoot, spec.Name)
	}
	n.Subnets = append([]Subnet(nil), spec.Subnets...)
	for i := range n.Subnets {
		if !n.Subnets[i].Gateway.IsValid() {
			n.Subnets[i].Gateway = firstHost(n.Subnets[i].Subnet)
		}
	}
	others, err := m.List()
	if err != nil {
		return Network{}, err
	}
	for _, o := range others {
		if o.Bridge == n.Bridge {
			return Network{}, fmt.Errorf("bridge name %q: used by network %q", n.Bridge, o.Name)
		}
	}
	return n, nil
}

// setUpHost allocates n's open subnets (when fresh) and creates its bridge and internal
// rules, under the host-wide subnet lock, so that no other data root can pick the same
// subnet before the bridge's route shows it as taken. For an existing network it only
// puts back what a reboot removed, and never deletes anything on failure.
func (m *Manager) setUpHost(n *Network, fresh bool) (err error) {
	unlock, err := lockHost("subnets.lock")
	if err != nil {
		return err
	}
	defer unlock()
	used, err := m.usedPrefixes(*n)
	if err != nil {
		return err
	}
	for i, sn := range n.Subnets {
		if u := overlapping(sn.Subnet, used); u != nil {
			return fmt.Errorf("subnets[%d]: %s overlaps %s", i, sn.Subnet, u.owner)
		}
	}
	for _, v6 := range []bool{false, true} {
		if _, ok := n.subnet(v6); ok || v6 && !n.EnableIPv6 {
			continue
		}
		p, err := pickSubnet(m.pool, m.poolSize, v6, used)
		if err != nil {
			return err
		}
		n.Subnets = append(n.Subnets, Subnet{Subnet: p, Gateway: firstHost(p)})
	}
	if err := ensureBridge(n.Bridge, n.Subnets, n.MTU, n.Spec.BridgeName == ""); err != nil {
		return err
	}
	if fresh {
		defer func() {
			if err != nil {
				_ = m.tearDownHost(*n)
			}
		}()
	}
	if recordedBackend(n.Backend) == BackendNative {
		return setUpNativeHost(*n) // its rules: the first Attach
	}
	return withIPTablesLock(func() error {
		return forFamilies(*n, func(v6 bool) error {
			if n.Internal {
				if err := addInternal(v6, n.Bridge, n.Name); err != nil {
					return err
				}
			}
			return addDNS(v6, *n)
		})
	})
}

// usedPrefixes is the address space n must stay out of: the host's routes and addresses
// (except on n's own bridge) and the subnets of this data root's other networks, whose
// bridges may not exist right now.
func (m *Manager) usedPrefixes(n Network) ([]usedPrefix, error) {
	used, err := hostPrefixes(n.Bridge)
	if err != nil {
		return nil, err
	}
	others, err := m.List()
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.Name == n.Name {
			continue
		}
		for _, sn := range o.Subnets {
			used = append(used, usedPrefix{sn.Subnet, "network " + o.Name})
		}
	}
	return used, nil
}

// tearDownHost removes what n put on the host: its internal rules, its bridge, and what
// the plugins left behind for it. The rules and the bridge are independent, so the
// bridge goes meanwhile: the kernel takes tens of milliseconds to unregister it. It is
// idempotent.
func (m *Manager) tearDownHost(n Network) error {
	bridgeErr := make(chan error, 1)
	go func() { bridgeErr <- deleteBridge(n.Bridge) }()
	err := withIPTablesLock(func() error {
		return forFamilies(n, func(v6 bool) error { return removeNetworkRules(v6, n) })
	})
	return errors.Join(err, <-bridgeErr)
}

// sweepUnsaved removes what an Ensure that died before saving the state may have left:
// the bridge and, only when the bridge is there (they come after it), its DNS rules.
// The family of a network without state is unknown, so IPv6 is swept where ip6tables
// exists.
func sweepUnsaved(bridge string) error {
	_, err := netlink.LinkByName(bridge)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", bridge, err)
	}
	err = withIPTablesLock(func() error {
		errs := []error{removeDNS(false, bridge)}
		if _, err := exec.LookPath(binary(true, "ip6tables")); err == nil {
			errs = append(errs, removeDNS(true, bridge))
		}
		return errors.Join(errs...)
	})
	return errors.Join(err, deleteBridge(bridge))
}

// forFamilies runs fn for IPv4 and, when n has an IPv6 subnet, for IPv6.
func forFamilies(n Network, fn func(v6 bool) error) error {
	if err := fn(false); err != nil {
		return err
	}
	if _, ok := n.subnet(true); ok {
		return fn(true)
	}
	return nil
}

// withIPTablesLock serializes berth's changes to its own chain across processes: the
// decision to delete the chain once it is empty must not race with a new rule.
func withIPTablesLock(fn func() error) error {
	unlock, err := lockHost("iptables.lock")
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// Get returns the network; errors.Is(err, ErrNotFound) when it does not exist.
func (m *Manager) Get(name string) (Network, error) {
	n, err := m.get(name)
	if err != nil {
		return Network{}, fmt.Errorf("get network %q: %w", name, err)
	}
	return n, nil
}

func (m *Manager) get(name string) (Network, error) {
	if !netspec.ValidName(name) {
		return Network{}, ErrNotFound
	}
	var n Network
	err := readJSON(m.networkFile(name), &n)
	return n, err
}

// List returns the data root's networks sorted by name.
func (m *Manager) List() ([]Network, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []Network
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := m.get(name)
		if errors.Is(err, ErrNotFound) {
			continue // removed since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("list networks: %w", err)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the network: its bridge, the rules berth and the plugins made for it,
// its leases and its state. It refuses with ErrInUse while containers are attached; a
// network that does not exist is success.
func (m *Manager) Remove(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	unlock, err := m.lock()
	if err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	defer unlock()
	n, err := m.get(name)
	if errors.Is(err, ErrNotFound) {
		// Ensure may have died between creating the bridge and saving the state.
		if err := sweepUnsaved(bridgeName(m.dataRoot, name)); err != nil {
			return fmt.Errorf("remove network %q: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	ids, err := m.attachments(name)
	if err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	if len(ids) > 0 {
		return fmt.Errorf("remove network %q: containers %v are attached: %w", name, ids, ErrInUse)
	}
	// The bridge goes last, after the state: a network whose state is there keeps its
	// bridge whatever point a crash stops the removal at, and the next up, which
	// ensures only missing networks, finds it working; a bridge without state is
	// swept by the next Remove.
	err = withIPTablesLock(func() error {
		return forFamilies(n, func(v6 bool) error { return removeNetworkRules(v6, n) })
	})
	if err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	m.forgetRules(n)
	if err := os.RemoveAll(filepath.Join(m.ipamDir(), n.CNIName)); err != nil {
		return fmt.Errorf("remove network %q: leases: %w", name, err)
	}
	if err := os.Remove(m.networkFile(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	if err := deleteBridge(n.Bridge); err != nil {
		return fmt.Errorf("remove network %q: %w", name, err)
	}
	return nil
}
