package network

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func TestEndpoints(t *testing.T) {
	m, err := NewManager(Config{DataRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a4, b4 := netip.MustParseAddr("10.89.0.2"), netip.MustParseAddr("10.89.1.2")
	b6 := netip.MustParseAddr("fd42::2")
	records := []record{
		{ContainerID: "web-1", Networks: []recordedNet{
			{Attachment: Attachment{Network: "a", Aliases: []string{"web", "web-1"}}},
			{Attachment: Attachment{Network: "b", Aliases: []string{"web", "w"}}},
		}, Interfaces: []Interface{
			{Network: "a", Name: "eth0", IPv4: a4},
			{Network: "b", Name: "eth1", IPv4: b4, IPv6: b6},
		}},
		// Attach has saved the record but not finished its ADD: no addresses yet.
		{ContainerID: "db-1", Networks: []recordedNet{{Attachment: Attachment{Network: "a", Aliases: []string{"db"}}}}},
	}
	for _, rec := range records {
		if err := writeJSON(m.attachmentFile(rec.ContainerID), rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Endpoints()
	if err != nil {
		t.Fatal(err)
	}
	want := []Endpoint{
		{ContainerID: "web-1", Network: "a", IPv4: a4, Names: []string{"web", "web-1"}},
		{ContainerID: "web-1", Network: "b", IPv4: b4, IPv6: b6, Names: []string{"web", "w"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Endpoints() =\n%+v\nwant\n%+v", got, want)
	}
	if ids, err := m.Attachments("a"); err != nil || !slices.Equal(ids, []string{"db-1", "web-1"}) {
		t.Errorf("Attachments(a) = %v, %v", ids, err)
	}
	if dirs := m.StateDirs(); len(dirs) != 2 || dirs[0] != m.dir || dirs[1] != m.attachmentsDir() {
		t.Errorf("StateDirs() = %v", dirs)
	}
}

func TestDNSRulesMatchTheirSavedForm(t *testing.T) {
	gw := netip.MustParseAddr("10.89.0.1")
	specs := dnsRules("br-x", "p_default", gw)
	// What iptables-save prints for them: its own order, -d with the prefix length.
	saved := mustRules(t,
		`-A BERTH-DNS -d 10.89.0.1/32 -i br-x -p udp -m udp --dport 53 -m comment --comment "berth dns p_default" -j ACCEPT`,
		`-A BERTH-DNS -d 10.89.0.1/32 -i br-x -p tcp -m tcp --dport 53 -m comment --comment "berth dns p_default" -j ACCEPT`)
	for i, spec := range specs {
		if !sameDNSRule(saved[i], spec) {
			t.Errorf("saved rule %q does not match spec %q", saved[i].args, spec)
		}
		if sameDNSRule(saved[1-i], spec) {
			t.Errorf("the %s rule matches the other protocol's spec", specs[1-i][5])
		}
	}
	other := dnsRules("br-y", "q_default", netip.MustParseAddr("10.89.1.1"))
	if sameDNSRule(saved[0], other[0]) {
		t.Error("a rule of another bridge matches")
	}
	v6 := dnsRules("br-x", "p_default", netip.MustParseAddr("fd42::1"))
	if d, _ := (rule{args: v6[0]}).arg("-d"); d != "fd42::1/128" {
		t.Errorf("IPv6 destination %q", d)
	}
}
