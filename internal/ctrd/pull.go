package ctrd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/internal/progress"
)

// pullParallelism bounds PullAll: more parallel pulls than this only split
// the same bandwidth and make the progress block harder to read.
const pullParallelism = 4

// Pull fetches ref for the client's platform and unpacks it into the
// snapshotter. Content already present is not downloaded again, so pulling
// an image that is up to date costs one registry round trip.
func (c *Client) Pull(ctx context.Context, ref string, sink progress.Sink) (ImageInfo, error) {
	ctx = c.Context(ctx)
	sink = progress.Or(sink)
	name, err := NormalizeRef(ref)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	id := "Image " + name
	sink.Event(progress.Event{ID: id, Status: "Pulling"})
	info, fetched, err := c.pull(ctx, name, id, sink)
	if err != nil {
		// The line already names the image.
		text := strings.TrimPrefix(err.Error(), "pull "+name+": ")
		sink.Event(progress.Event{ID: id, Status: "Error", Text: text, Done: true, Err: true})
		return ImageInfo{}, err
	}
	text := "up to date"
	if fetched > 0 {
		text = progress.HumanSize(fetched)
	}
	sink.Event(progress.Event{ID: id, Status: "Pulled", Text: text, Current: fetched, Total: fetched, Done: true})
	return info, nil
}

// pull runs containerd's pull while a watcher reports download progress; it
// returns the number of bytes downloaded.
func (c *Client) pull(ctx context.Context, name, id string, sink progress.Sink) (ImageInfo, int64, error) {
	resolver, err := c.resolver(ctx)
	if err != nil {
		return ImageInfo{}, 0, fmt.Errorf("pull %s: %w", name, err)
	}
	w := newPullWatcher(c.client.ContentStore(), id, sink)
	wctx, stop := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		w.run(wctx)
	}()
	img, err := c.client.Pull(ctx, name,
		containerd.WithResolver(resolver),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(c.snapshotter),
		containerd.WithPlatformMatcher(c.platform),
		containerd.WithImageHandler(w.handler()))
	stop()
	<-watching
	if err != nil {
		return ImageInfo{}, 0, pullError(name, err, w.resolved())
	}
	fetched, _ := w.measure(context.WithoutCancel(ctx))
	info, err := c.describe(ctx, img.Metadata(), true)
	if err != nil {
		return ImageInfo{}, 0, fmt.Errorf("pull %s: %w", name, err)
	}
	return info, fetched, nil
}

// pullError turns a failed resolution into the one line a person needs: the
// image and the registry that does not have it.
func pullError(name string, err error, resolved bool) error {
	if errdefs.IsNotFound(err) && !resolved {
		return &imageError{
			msg: fmt.Sprintf("pull %s: not found in registry %s", name, registryOf(name)),
			err: ErrImageNotFound,
		}
	}
	return fmt.Errorf("pull %s: %w", name, err)
}

// PullAll pulls refs in parallel, each distinct image once. Every pull runs
// to its end; the first error is returned. All refs are checked before the
// first pull starts.
func (c *Client) PullAll(ctx context.Context, refs []string, sink progress.Sink) error {
	var names []string
	for _, ref := range refs {
		name, err := NormalizeRef(ref)
		if err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var g errgroup.Group
	g.SetLimit(pullParallelism)
	for _, name := range names {
		g.Go(func() error {
			_, err := c.Pull(ctx, name, sink)
			return err
		})
	}
	return g.Wait()
}
