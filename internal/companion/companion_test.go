package companion

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	t.Setenv("BERTH_TEST_COMPANION", "/opt/elsewhere/berth-thing")
	if p, err := Find("berth-thing", "BERTH_TEST_COMPANION"); err != nil || p != "/opt/elsewhere/berth-thing" {
		t.Errorf("with the variable set: %q, %v", p, err)
	}
	t.Setenv("BERTH_TEST_COMPANION", "")
	_, err := Find("berth-no-such-companion", "BERTH_TEST_COMPANION")
	if err == nil {
		t.Fatal("a missing companion was found")
	}
	// the error says where it looked and how to point at one
	for _, want := range []string{"/usr/local/lib/berth/berth-no-such-companion", "BERTH_TEST_COMPANION", "make build"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
