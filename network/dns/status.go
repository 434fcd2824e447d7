package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Report is what a responder last wrote about itself.
type Report struct {
	PID int `json:"pid"`
	// Running says whether PID is alive; Status fills it in, it is not stored.
	Running   bool      `json:"-"`
	Updated   time.Time `json:"updated"`
	Upstreams []string  `json:"upstreams"`
	Networks  []Served  `json:"networks"`
}

// Served is one network as the responder serves it.
type Served struct {
	Network string `json:"network"`
	// Addrs are the gateway addresses answered on (port 53, udp and tcp).
	Addrs []netip.Addr `json:"addrs,omitempty"`
	// Errors say why a gateway address is not served, e.g. another DNS server holds
	// the port on all addresses.
	Errors []string `json:"errors,omitempty"`
}

// statusPath is the report's file: under DataRoot/dns, which this package owns.
func statusPath(dataRoot string) string { return filepath.Join(dataRoot, "dns", "status.json") }

// Status reads the data root's report. No report (no responder ever ran, or the last
// one exited cleanly) is a zero Report and no error; one left by a responder that was
// killed has Running false.
func Status(dataRoot string) (Report, error) {
	var r Report
	data, err := os.ReadFile(statusPath(dataRoot))
	if errors.Is(err, os.ErrNotExist) {
		return Report{}, nil
	}
	if err != nil {
		return Report{}, fmt.Errorf("read DNS status: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("read DNS status %s: %w", statusPath(dataRoot), err)
	}
	r.Running = r.PID > 0 && alive(r.PID)
	return r, nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// WaitServed waits until a running responder serves every address of the named
// networks, or ctx ends. The reconciler can call it between creating networks and
// starting containers whose first query must not be lost.
func WaitServed(ctx context.Context, dataRoot string, networks ...string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := Status(dataRoot)
		if err != nil {
			return err
		}
		missing := unserved(r, networks)
		if r.Running && len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if !r.Running {
				return fmt.Errorf("wait for DNS on networks %v: no responder running: %w", networks, ctx.Err())
			}
			return fmt.Errorf("wait for DNS on networks %v: %s: %w", networks, missing, ctx.Err())
		case <-tick.C:
		}
	}
}

// unserved describes the networks the report does not show as fully served.
func unserved(r Report, networks []string) []string {
	var out []string
	for _, n := range networks {
		i := slices.IndexFunc(r.Networks, func(s Served) bool { return s.Network == n })
		switch {
		case i < 0:
			out = append(out, n+": not served yet")
		case len(r.Networks[i].Errors) > 0:
			out = append(out, fmt.Sprintf("%s: %v", n, r.Networks[i].Errors))
		case len(r.Networks[i].Addrs) == 0:
			out = append(out, n+": no address served")
		}
	}
	return out
}

// reporter writes the report when it changes, and removes it when the responder stops.
type reporter struct {
	path string
	last Report
}

func (rp *reporter) write(r Report) error {
	sort.Slice(r.Networks, func(i, j int) bool { return r.Networks[i].Network < r.Networks[j].Network })
	r.Updated = rp.last.Updated
	if rp.last.PID != 0 && reflect.DeepEqual(r, rp.last) {
		return nil
	}
	r.Updated = time.Now().UTC()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(rp.path), 0o700); err != nil {
		return fmt.Errorf("write DNS status: %w", err)
	}
	if err := atomicfile.WriteFile(rp.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write DNS status: %w", err)
	}
	rp.last = r
	return nil
}

// remove deletes the report, and its directory when nothing else is in it.
func (rp *reporter) remove() {
	_ = os.Remove(rp.path)
	_ = os.Remove(filepath.Dir(rp.path))
}
