package network

import (
	"errors"
	"testing"
)

// TestIsGone: what iptables (legacy and nft) say when a rule or chain is already
// gone counts as done; anything else is an error.
func TestIsGone(t *testing.T) {
	tests := []struct {
		msg  string
		gone bool
	}{
		{"iptables: Bad rule (does a matching rule exist in that chain?).", true},
		{"iptables: No chain/target/match by that name.", true},
		{"iptables v1.8.9 (nf_tables): Chain 'CNI-x' does not exist", true},
		{`exit status 4: iptables v1.8.9 (nf_tables):  RULE_DELETE failed (No such file or directory): rule in chain CNI-05b522e2f41817d5bd2fe928`, true},
		{"iptables v1.8.9 (nf_tables): CHAIN_DEL failed (No such file or directory): chain CNI-abc", true},
		{"iptables: Resource temporarily unavailable.", false},
		{"iptables v1.8.9 (nf_tables): RULE_APPEND failed (Invalid argument)", false},
	}
	for _, tt := range tests {
		if got := isGone(errors.New(tt.msg)); got != tt.gone {
			t.Errorf("isGone(%q) = %v, want %v", tt.msg, got, tt.gone)
		}
	}
}
