package day2

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/procfs"
	"github.com/berth-dev/berth/internal/record"
	"github.com/berth-dev/berth/service/plan"
)

// ContainerStats is one container's resource use, as docker stats shows it.
type ContainerStats struct {
	ID, Name, Service      string
	CPUPercent, MemPercent float64
	MemUsage, MemLimit     uint64
	NetRx, NetTx           uint64
	BlockRead, BlockWrite  uint64
	PIDs                   uint64
}

// StatsRequest is stats with its flags.
type StatsRequest struct {
	Services []string
	// All reports stopped containers too, with zero use.
	All      bool
	NoStream bool
	// Interval is the time between readings; 1 s when zero.
	Interval time.Duration
}

// statsSample is one reading of a container's counters.
type statsSample struct {
	at           time.Time
	m            ctrd.Metrics
	netRx, netTx uint64
}

// Stats reports the services' resource use every interval until ctx ends;
// with NoStream it reports once. CPU use is measured between two
// readings, so the first report comes after one interval.
func (o Ops) Stats(ctx context.Context, projectName string, req StatsRequest, report func([]ContainerStats) error) error {
	rt := o.Host
	interval := req.Interval
	if interval <= 0 {
		interval = time.Second
	}
	memTotal := procfs.MemTotal("/proc/meminfo")
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	prev := map[string]statsSample{}
	for first := true; ; first = false {
		rows, next, err := o.readStats(ctx, rt, projectName, req, prev, memTotal)
		if err != nil {
			return err
		}
		prev = next
		if !first {
			if err := report(rows); err != nil || req.NoStream {
				return err
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (o Ops) readStats(ctx context.Context, rt Host, projectName string, req StatsRequest, prev map[string]statsSample, memTotal uint64) ([]ContainerStats, map[string]statsSample, error) {
	cs, err := o.Host.Containers(ctx, projectName)
	if err != nil {
		return nil, nil, err
	}
	next := map[string]statsSample{}
	rows := []ContainerStats{}
	for _, c := range cs {
		if len(req.Services) > 0 && !slices.Contains(req.Services, c.Service) {
			continue
		}
		row := ContainerStats{ID: c.ID, Name: c.Name, Service: c.Service}
		var s statsSample
		if plan.IsUp(c) {
			s, err = sampleStats(ctx, rt, c)
		}
		if !plan.IsUp(c) || err != nil {
			// stopped, or exited since it was listed
			if req.All {
				rows = append(rows, row)
			}
			continue
		}
		next[c.ID] = s
		rows = append(rows, computeStats(row, prev[c.ID], s, memTotal))
	}
	return rows, next, nil
}

func sampleStats(ctx context.Context, rt Host, c plan.Container) (statsSample, error) {
	m, err := rt.Metrics(ctx, c.ID)
	if err != nil {
		return statsSample{}, err
	}
	s := statsSample{at: time.Now(), m: m}
	// the host's interfaces are not the container's traffic
	if c.Labels[record.LabelNetNS] != "host" && c.PID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", c.PID)); err == nil {
			s.netRx, s.netTx = procfs.ParseNetDev(string(b))
		}
	}
	return s, nil
}

// computeStats turns two readings into Docker's figures: CPU % of one core
// over the interval, memory without inactive file cache, a limit no
// larger than the host's memory.
func computeStats(row ContainerStats, prev, cur statsSample, memTotal uint64) ContainerStats {
	if !prev.at.IsZero() && cur.at.After(prev.at) && cur.m.CPUNanos >= prev.m.CPUNanos {
		row.CPUPercent = float64(cur.m.CPUNanos-prev.m.CPUNanos) / float64(cur.at.Sub(prev.at).Nanoseconds()) * 100
	}
	usage := cur.m.MemUsage
	if cur.m.MemInactive < usage {
		usage -= cur.m.MemInactive
	}
	limit := cur.m.MemLimit
	if limit == 0 || (memTotal > 0 && limit > memTotal) {
		limit = memTotal
	}
	row.MemUsage, row.MemLimit = usage, limit
	if limit > 0 {
		row.MemPercent = float64(usage) / float64(limit) * 100
	}
	row.NetRx, row.NetTx = cur.netRx, cur.netTx
	row.BlockRead, row.BlockWrite, row.PIDs = cur.m.BlockRead, cur.m.BlockWrite, cur.m.PIDs
	return row
}
