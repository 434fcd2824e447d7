package network

import (
	"net/netip"
	"reflect"
	"testing"
)

func mustRules(t *testing.T, lines ...string) []rule {
	t.Helper()
	var rules []rule
	for _, l := range lines {
		w, err := splitRule(l)
		if err != nil {
			t.Fatalf("splitRule(%q): %v", l, err)
		}
		rules = append(rules, rule{chain: w[1], args: w[2:]})
	}
	return rules
}

func TestSplitRule(t *testing.T) {
	got, err := splitRule(`-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \"berth-6c0b\" id: \"c1\"" -j CNI-0b9a0ed5`)
	want := []string{"-A", "POSTROUTING", "-s", "10.89.0.2/32", "-m", "comment", "--comment", `name: "berth-6c0b" id: "c1"`, "-j", "CNI-0b9a0ed5"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("splitRule = %q, %v\nwant %q", got, err, want)
	}
	if _, err := splitRule(`-A X --comment "open`); err == nil {
		t.Fatal("unterminated quote accepted")
	}
}

func TestRuleArgs(t *testing.T) {
	r := mustRules(t, `-A CNI-ISOLATION-STAGE-1 -i br-a ! -o br-a -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2`)[0]
	if v, neg := r.arg("-i"); v != "br-a" || neg {
		t.Errorf("-i = %q negated=%v", v, neg)
	}
	if v, neg := r.arg("-o"); v != "br-a" || !neg {
		t.Errorf("-o = %q negated=%v", v, neg)
	}
	if r.comment() != "CNI firewall plugin rules (ingressPolicy: same-bridge)" {
		t.Errorf("comment = %q", r.comment())
	}
}

func TestInSubnets(t *testing.T) {
	subnets := []Subnet{{Subnet: netip.MustParsePrefix("10.89.0.0/24")}}
	for s, want := range map[string]bool{"10.89.0.2/32": true, "10.89.1.2/32": false, "10.89.0.0/24": false, "": false} {
		if got := inSubnets(s, subnets); got != want {
			t.Errorf("inSubnets(%q) = %v", s, got)
		}
	}
}

func TestInternalRulesNameTheBridgeWithDashI(t *testing.T) {
	// removeInternal finds both rules of a bridge by their -i; keep it that way.
	for _, args := range internalRules("br-x", "n") {
		if v, _ := (rule{args: args}).arg("-i"); v != "br-x" {
			t.Errorf("rule %q: -i is %q", args, v)
		}
	}
}
