package kube

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestDNSLabel(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tc := range []struct{ in, want string }{
		{"web", "web"},
		{"my_app", "my-app"},
		{"MyApp", "myapp"},
		{"api.v2", "api-v2"},
		{"_db_", "db"},
		{"1st", "x1st"},
		{"", "x"},
		{long, strings.Repeat("a", 54) + "-" + shortHash(long, 8)},
	} {
		got := dnsLabel(tc.in)
		if got != tc.want {
			t.Errorf("dnsLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
			t.Errorf("dnsLabel(%q) = %q is not a DNS-1035 label: %v", tc.in, got, errs)
		}
	}
}

func TestJoinNameStaysALabel(t *testing.T) {
	for _, base := range []string{"web", strings.Repeat("b", 63), strings.Repeat("c", 50)} {
		got := joinName(base, "published")
		if errs := validation.IsDNS1035Label(got); len(errs) > 0 {
			t.Errorf("joinName(%q) = %q: %v", base, got, errs)
		}
		if !strings.HasSuffix(got, "-published") {
			t.Errorf("joinName(%q) = %q lost its suffix", base, got)
		}
	}
	if a, b := joinName(strings.Repeat("d", 60)+"1", "env"), joinName(strings.Repeat("d", 60)+"2", "env"); a == b {
		t.Errorf("two long bases give one name %q", a)
	}
}

func TestLabelValue(t *testing.T) {
	for _, in := range []string{"devenv", "my project", strings.Repeat("p", 80), "-x-"} {
		got := labelValue(in)
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q: %v", in, got, errs)
		}
	}
}

// TestNamerGivesOneNameAndOneWarning: a Compose name Kubernetes refuses is
// renamed the same way everywhere, with one warning; two names that would
// collide stay distinct.
func TestNamerGivesOneNameAndOneWarning(t *testing.T) {
	n := newNamer()
	first := n.service("my_db")
	if again := n.service("my_db"); again != first || n.lookup("my_db") != first {
		t.Errorf("my_db named %q then %q", first, again)
	}
	if first != "my-db" || len(n.warnings) != 1 {
		t.Fatalf("my_db → %q with warnings %v", first, n.warnings)
	}
	other := n.service("my-db")
	if other == first {
		t.Errorf("my-db and my_db share %q", other)
	}
	if n.service("web") != "web" || len(n.warnings) != 2 {
		t.Errorf("warnings: %v", n.warnings)
	}
}
