package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
)

// PruneResult is what a prune freed.
type PruneResult struct {
	Records int
	Bytes   int64
	History int
}

// Prune removes BuildKit's build cache: the records no build uses, or with all every
// record and the build history too, whose records hold leases on what they produced.
// It does not start a daemon: none running has nothing to prune.
func (d Daemon) Prune(ctx context.Context, all bool) (PruneResult, error) {
	var res PruneResult
	c, err := d.connectRunning(ctx)
	if err != nil || c == nil {
		return res, err
	}
	defer c.Close()
	if all {
		if res.History, err = deleteHistory(ctx, c); err != nil {
			return res, err
		}
	}
	usage := make(chan client.UsageInfo)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range usage {
			res.Records++
			res.Bytes += u.Size
		}
	}()
	var opts []client.PruneOption
	if all {
		opts = append(opts, client.PruneAll)
	}
	err = c.Prune(ctx, usage, opts...)
	close(usage)
	<-done
	if err != nil {
		return res, fmt.Errorf("prune build cache: %w", err)
	}
	return res, nil
}

// connectRunning connects to the daemon if one runs: nil, nil when berth's own is not
// running.
func (d Daemon) connectRunning(ctx context.Context) (*client.Client, error) {
	if d.Own() && d.Running() == 0 {
		return nil, nil
	}
	c, err := dial(ctx, d.address())
	if err != nil {
		return nil, fmt.Errorf("buildkitd at %s does not answer: %w", d.address(), err)
	}
	return c, nil
}

func deleteHistory(ctx context.Context, c *client.Client) (int, error) {
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		return 0, fmt.Errorf("list build history: %w", err)
	}
	var refs []string
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("list build history: %w", err)
		}
		if ev.Record != nil && ev.Type != controlapi.BuildHistoryEventType_DELETED {
			refs = append(refs, ev.Record.Ref)
		}
	}
	for _, ref := range refs {
		if _, err := c.ControlClient().UpdateBuildHistory(ctx, &controlapi.UpdateBuildHistoryRequest{Ref: ref, Delete: true}); err != nil {
			return 0, fmt.Errorf("delete build record %s: %w", ref, err)
		}
	}
	return len(refs), nil
}
