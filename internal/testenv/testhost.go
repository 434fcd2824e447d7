package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHost is a network namespace joined to the host by a veth pair: a
// second machine for tests of what the host's other addresses expose. It
// uses a /30 of 10.254.0.0/16 that no host route covers.
type TestHost struct {
	NS       string
	HostAddr netip.Addr // the host's end of the veth
	Addr     netip.Addr // the test host's address
}

// StartTestHost creates the namespace and removes it (and its veth) when
// the test ends.
func StartTestHost(t testing.TB) *TestHost {
	t.Helper()
	RequireRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	prefix, err := freeSlash30()
	if err != nil {
		t.Fatal(err)
	}
	h := &TestHost{NS: "berth-th-" + id, HostAddr: prefix.Addr().Next(), Addr: prefix.Addr().Next().Next()}
	hostIf, nsIf := "bth"+id, "bthp"+id
	steps := [][]string{
		{"ip", "netns", "add", h.NS},
		{"ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf},
		{"ip", "link", "set", nsIf, "netns", h.NS},
		{"ip", "addr", "add", h.HostAddr.String() + "/30", "dev", hostIf},
		{"ip", "link", "set", hostIf, "up"},
		{"ip", "-n", h.NS, "addr", "add", h.Addr.String() + "/30", "dev", nsIf},
		{"ip", "-n", h.NS, "link", "set", nsIf, "up"},
		{"ip", "-n", h.NS, "link", "set", "lo", "up"},
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", hostIf).Run()
		_ = exec.Command("ip", "netns", "del", h.NS).Run()
	})
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("test host: %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return h
}

func freeSlash30() (netip.Prefix, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return netip.Prefix{}, err
	}
	var routes []netip.Prefix
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if r, err := netip.ParsePrefix(f[0]); err == nil {
			routes = append(routes, r)
		} else if a, err := netip.ParseAddr(f[0]); err == nil {
			routes = append(routes, netip.PrefixFrom(a, 32))
		}
	}
	b := make([]byte, 2)
	for try := 0; try < 64; try++ {
		_, _ = rand.Read(b)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 254, b[0], b[1] &^ 3}), 30)
		free := true
		for _, r := range routes {
			free = free && !r.Overlaps(p)
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /30 in 10.254.0.0/16")
}

// Get fetches url from inside the test host with busybox wget, giving up
// after timeout; it returns the body or an error.
func (h *TestHost) Get(url string, timeout time.Duration) (string, error) {
	secs := fmt.Sprint(int(timeout.Seconds()))
	out, err := exec.Command("ip", "netns", "exec", h.NS, "timeout", secs, "/bin/busybox", "wget", "-q", "-O-", url).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("wget %s from test host: %v: %s", url, err, out)
	}
	return string(out), nil
}
