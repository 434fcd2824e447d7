package day2

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/procfs"
)

func TestStatsCompute(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := statsSample{at: t0, m: ctrd.Metrics{CPUNanos: 1e9}}
	cur := statsSample{at: t0.Add(2 * time.Second), netRx: 1234, netTx: 5,
		m: ctrd.Metrics{CPUNanos: 2e9, MemUsage: 300 << 20, MemInactive: 100 << 20, MemLimit: 1 << 62, BlockRead: 7, BlockWrite: 9, PIDs: 3}}
	got := computeStats(ContainerStats{Name: "p-web-1"}, prev, cur, 1<<30)
	want := ContainerStats{Name: "p-web-1", CPUPercent: 50, MemUsage: 200 << 20, MemLimit: 1 << 30,
		MemPercent: 200.0 / 1024 * 100, NetRx: 1234, NetTx: 5, BlockRead: 7, BlockWrite: 9, PIDs: 3}
	if got != want {
		t.Errorf("stats:\n%+v\nwant\n%+v", got, want)
	}
	// the first reading has no CPU figure yet
	if first := computeStats(ContainerStats{}, statsSample{}, cur, 0); first.CPUPercent != 0 || first.MemLimit != 1<<62 {
		t.Errorf("first reading: %+v", first)
	}
	dev := "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
		"    lo:    900       9    0    0    0     0          0         0      900       9    0    0    0     0       0          0\n" +
		"  eth0:   1500      12    0    0    0     0          0         0      648       8    0    0    0     0       0          0\n" +
		"  eth1:    500       2    0    0    0     0          0         0       52       1    0    0    0     0       0          0\n"
	if rx, tx := procfs.ParseNetDev(dev); rx != 2000 || tx != 700 {
		t.Errorf("net/dev: rx %d tx %d", rx, tx)
	}
}
