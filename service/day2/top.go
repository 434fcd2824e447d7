package day2

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/procfs"
	"github.com/berth-dev/berth/service/plan"
)

// ProcessList is one container's processes, as docker top shows them.
type ProcessList struct {
	Name      string
	Titles    []string
	Processes [][]string
}

// Top lists the processes of the services' running containers, read from
// /proc for the PIDs containerd reports.
func (o Ops) Top(ctx context.Context, projectName string, services []string) ([]ProcessList, error) {
	rt := o.Host
	cs, err := o.Host.Containers(ctx, projectName)
	if err != nil {
		return nil, err
	}
	proc := procfs.Host()
	var out []ProcessList
	for _, c := range cs {
		if !plan.IsUp(c) || (len(services) > 0 && !slices.Contains(services, c.Service)) {
			continue
		}
		pids, err := rt.Pids(ctx, c.ID)
		if ctrd.IsNotFound(err) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", c.Service, err)
		}
		rows, err := proc.Table(pids, time.Now())
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", c.Service, err)
		}
		out = append(out, ProcessList{Name: c.Name, Titles: procfs.Titles, Processes: rows})
	}
	return out, nil
}
