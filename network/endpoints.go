package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// Endpoint is one container's address on one network and the names it answers to
// there: what berth's DNS responder (package network/dns) resolves.
type Endpoint struct {
	ContainerID string
	Network     string
	IPv4        netip.Addr
	IPv6        netip.Addr
	// Names are the attachment's aliases as the caller gave them to Attach: for berth's
	// reconciler the service name, the container name, the hostname and the compose
	// aliases of that network.
	Names []string
}

// Endpoints returns the endpoints of every attached container, by container ID and then
// in interface order. A container whose Attach has not finished yet (its record has no
// addresses) has none; one being detached keeps its endpoints until Detach ends.
func (m *Manager) Endpoints() ([]Endpoint, error) {
	recs, err := m.records()
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	var out []Endpoint
	for _, rec := range recs {
		for _, n := range rec.Networks {
			i := slices.IndexFunc(rec.Interfaces, func(ifc Interface) bool { return ifc.Network == n.Network })
			if i < 0 {
				continue
			}
			ifc := rec.Interfaces[i]
			if !ifc.IPv4.IsValid() && !ifc.IPv6.IsValid() {
				continue
			}
			out = append(out, Endpoint{
				ContainerID: rec.ContainerID,
				Network:     n.Network,
				IPv4:        ifc.IPv4,
				IPv6:        ifc.IPv6,
				Names:       slices.Clone(n.Aliases),
			})
		}
	}
	return out, nil
}

// StateDirs are the directories that hold the networks' and the attachments' state.
// Every change to either renames a file into, or removes one from, one of them, so
// their modification times tell a reader such as the DNS responder when to read again.
func (m *Manager) StateDirs() []string { return []string{m.dir, m.attachmentsDir()} }

// records reads every attachment record, sorted by container ID (ReadDir's order). A
// record that goes away while they are read is skipped.
func (m *Manager) records() ([]record, error) {
	entries, err := os.ReadDir(m.attachmentsDir())
	if err != nil {
		return nil, err
	}
	var out []record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		var rec record
		if err := readJSON(m.attachmentFile(id), &rec); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
