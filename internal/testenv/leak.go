package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofrs/flock"
)

// HostState is what a project can touch on the host, in comparable form:
// each facet is a sorted list of lines.
type HostState map[string][]string

// LeakScope says where to look: the containerd namespace and the data root
// of the test.
type LeakScope struct {
	Address   string
	Namespace string
	DataRoot  string
	// KeepState names directories under DataRoot whose files are state meant to
	// outlive the test's work (the build cache daemon's), not compared.
	KeepState []string
}

// Snapshot records the host state a berth project can change: links,
// network namespaces, iptables rules (filter, nat and mangle of both families,
// counters stripped), mounts, CNI state, containerd objects of the namespace,
// and files under the data root.
func Snapshot(t testing.TB, s LeakScope) HostState {
	t.Helper()
	st := HostState{}
	var errs []error
	add := func(facet, out string, err error) {
		if err != nil {
			errs = append(errs, err)
		}
		st[facet] = lines(out)
	}
	out, err := linkNames()
	add("links", out, err)
	out, err = cmdOut("ip", "netns", "list")
	add("netns", out, err)
	out, err = mounts()
	add("mounts", out, err)
	out, err = iptables()
	add("iptables", out, err)
	out, err = walk("/var/lib/cni")
	add("cni", out, err)
	out, err = walk(s.DataRoot, s.KeepState...)
	add("dataroot", out, err)
	if s.Namespace != "" {
		for _, obj := range []string{"containers", "tasks", "snapshots", "leases"} {
			out, err = ctrList(s, obj)
			add("containerd "+obj, out, err)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("snapshot host state: %v", errs)
	}
	return st
}

// Diff lists what differs between two snapshots, one line per difference,
// "+" for what appeared and "-" for what went.
func (a HostState) Diff(b HostState) []string { return a.diff(b, nil) }

// DiffIn is Diff for the scope s. With a build daemon's state in the scope (KeepState),
// BuildKit's own cache records in containerd (leases and the views it mounts) come and
// go with its garbage collector: in those facets only what appeared counts.
func (a HostState) DiffIn(s LeakScope, b HostState) []string {
	if len(s.KeepState) == 0 {
		return a.diff(b, nil)
	}
	return a.diff(b, []string{"containerd leases", "containerd snapshots"})
}

func (a HostState) diff(b HostState, goneOK []string) []string {
	var out []string
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, l := range b[k] {
			if !slices.Contains(a[k], l) && !sharedFirewall(k, l) {
				out = append(out, fmt.Sprintf("%s: + %s", k, l))
			}
		}
		for _, l := range a[k] {
			if !slices.Contains(b[k], l) && !sharedCache(k, l) && !slices.Contains(goneOK, k) {
				out = append(out, fmt.Sprintf("%s: - %s", k, l))
			}
		}
	}
	return out
}

// AssertNoLeak fails the test when the host differs from before.
func AssertNoLeak(t testing.TB, s LeakScope, before HostState) {
	t.Helper()
	if d := before.DiffIn(s, Snapshot(t, s)); len(d) > 0 {
		t.Errorf("host state changed:\n  %s", strings.Join(d, "\n  "))
	}
}

// sharedFirewallRules are the chains and fixed rules that the CNI plugins, and berth's
// native backend in the same form, create on a host's first use and then share with
// every CNI user: they stay when the last network goes. A test that is the first on a
// fresh host sees them appear; that is not a leak.
var sharedFirewallRules = []string{
	":CNI-FORWARD -", ":CNI-ADMIN -", ":CNI-ISOLATION-STAGE-1 -", ":CNI-ISOLATION-STAGE-2 -",
	":CNI-HOSTPORT-DNAT -", ":CNI-HOSTPORT-SETMARK -", ":CNI-HOSTPORT-MASQ -",
	`-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD`,
	`-A FORWARD -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-1`,
	`-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN`,
	`-A CNI-ISOLATION-STAGE-1 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN`,
	`-A CNI-ISOLATION-STAGE-2 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j RETURN`,
	"-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
	"-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
	`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
	`-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000`,
	"-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
}

// sharedFirewall tells the shared chains and rules apart from berth's own: facet
// "iptables" lines are "<save command> <table> <line>".
func sharedFirewall(facet, line string) bool {
	if facet != "iptables" {
		return false
	}
	for _, r := range sharedFirewallRules {
		if strings.HasSuffix(line, " "+r) {
			return true
		}
	}
	return false
}

// sharedCache tells go-cni's loopback result files apart: they are named
// after the container alone, so a namespace's clean-up also removes the
// file an earlier, failed run of the same container names left.
func sharedCache(facet, line string) bool {
	return facet == "cni" && strings.Contains(line, "/cni-loopback-")
}

func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	slices.Sort(ls)
	return ls
}

func cmdOut(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func linkNames() (string, error) {
	out, err := cmdOut("ip", "-o", "link", "show")
	if err != nil {
		return "", err
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.TrimSuffix(f[1], ":"))
		}
	}
	return strings.Join(names, "\n"), nil
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// iptables lists the rules and chains of both families in the tables berth writes to:
// filter (berth's BERTH-DNS, the accepts and isolation), nat (masquerading, published
// ports) and mangle (berth's BERTH-INTERNAL).
func iptables() (string, error) {
	var all []string
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		if _, err := exec.LookPath(save); err != nil && save == "ip6tables-save" {
			continue // a host without IPv6 firewalling
		}
		for _, table := range []string{"filter", "nat", "mangle"} {
			out, err := cmdOut(save, "-t", table)
			if err != nil {
				return "", err
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "#") {
					continue
				}
				all = append(all, save+" "+table+" "+counters.ReplaceAllString(l, ""))
			}
		}
	}
	return strings.Join(all, "\n"), nil
}

// mounts lists mount points (not their options, which change with
// unrelated activity).
func mounts() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 {
			out = append(out, fields[4])
		}
	}
	return strings.Join(out, "\n"), sc.Err()
}

// walk lists the files under root; lock files and directories do not
// count, they hold no state.
func walk(root string, skip ...string) (string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() && slices.Contains(skip, p) {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".lock") && filepath.Base(p) != "lock" {
			out = append(out, p)
		}
		return nil
	})
	return strings.Join(out, "\n"), err
}

func ctrList(s LeakScope, obj string) (string, error) {
	addr := s.Address
	if addr == "" {
		addr = ContainerdAddress()
	}
	args := []string{"--address", addr, "-n", s.Namespace, obj, "ls"}
	if obj == "containers" || obj == "tasks" {
		// only these take -q; the others list a header and full lines
		return cmdOut("ctr", append(args, "-q")...)
	}
	out, err := cmdOut("ctr", args...)
	if err != nil {
		return "", err
	}
	// keep only the object names: other columns (dates, sizes) vary
	var names []string
	for i, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); i > 0 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return strings.Join(names, "\n"), nil
}

// SerializeHost holds the host-wide end-to-end lock until the test ends:
// tests that compare the host before and after must not see another test
// binary's networks and rules (go test runs packages in parallel).
func SerializeHost(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll("/run/berth", 0o755); err != nil {
		t.Fatal(err)
	}
	fl := flock.New("/run/berth/e2e.lock")
	if err := fl.Lock(); err != nil {
		t.Fatalf("take the e2e lock: %v", err)
	}
	t.Cleanup(func() { _ = fl.Unlock() })
}
