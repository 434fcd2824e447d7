package ctrd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/internal/progress"
)

// Push uploads the stored image ref, every platform and attestation its index holds,
// to its registry from the content store (containerd 1.6 has no transfer service, so
// through a resolver's pusher as pull does), and returns the digest the registry now
// serves for the tag. Blobs the registry already has are not uploaded again.
func (c *Client) Push(ctx context.Context, ref string, sink progress.Sink) (digest.Digest, error) {
	ctx = c.Context(ctx)
	sink = progress.Or(sink)
	name, err := NormalizeRef(ref)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	id := "Image " + name
	sink.Event(progress.Event{ID: id, Status: "Pushing"})
	uploaded, target, err := c.push(ctx, name, id, sink)
	if err != nil {
		text := strings.TrimPrefix(err.Error(), "push "+name+": ")
		sink.Event(progress.Event{ID: id, Status: "Error", Text: text, Done: true, Err: true})
		return "", err
	}
	text := "up to date"
	if uploaded > 0 {
		text = progress.HumanSize(uploaded)
	}
	sink.Event(progress.Event{ID: id, Status: "Pushed", Text: text, Current: uploaded, Total: uploaded, Done: true})
	return target, nil
}

func (c *Client) push(ctx context.Context, name, id string, sink progress.Sink) (int64, digest.Digest, error) {
	img, err := c.client.ImageService().Get(ctx, name)
	if errdefs.IsNotFound(err) {
		return 0, "", &imageError{msg: fmt.Sprintf("push %s: no such image in namespace %s", name, c.namespace), err: ErrImageNotFound}
	}
	if err != nil {
		return 0, "", fmt.Errorf("push %s: %w", name, err)
	}
	tracker := docker.NewInMemoryTracker()
	resolver, err := c.resolverWithTracker(ctx, tracker)
	if err != nil {
		return 0, "", fmt.Errorf("push %s: %w", name, err)
	}
	w := &pushWatcher{tracker: tracker, id: id, sink: sink}
	wctx, stop := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		w.run(wctx)
	}()
	err = c.client.Push(ctx, name, img.Target,
		containerd.WithResolver(resolver),
		containerd.WithImageHandler(w.handler()))
	stop()
	<-watching
	if err != nil {
		return 0, "", fmt.Errorf("push %s: %w", name, err)
	}
	uploaded, _ := w.measure(ctx)
	return uploaded, img.Target.Digest, nil
}

// pushWatcher reports a push's progress from the resolver's upload tracker, which
// knows for each blob whether the registry had it, how far its upload is, and whether
// it is committed.
type pushWatcher struct {
	tracker docker.StatusTracker
	id      string
	sink    progress.Sink

	dispatched
	sent progress.Event // owned by run's goroutine
}

func (w *pushWatcher) run(ctx context.Context) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			uploaded, total := w.measure(ctx)
			e := progress.Event{ID: w.id, Status: "Pushing", Current: uploaded, Total: total}
			if total > 0 && e != w.sent {
				w.sent = e
				w.sink.Event(e)
			}
		}
	}
}

// measure sums the bytes uploaded so far and the bytes to upload; blobs the registry
// already had count for neither, as with a pull's blobs already present.
func (w *pushWatcher) measure(ctx context.Context) (uploaded, total int64) {
	descs := w.list()
	for _, desc := range descs {
		st, err := w.tracker.GetStatus(remotes.MakeRefKey(ctx, desc))
		switch {
		case err != nil:
			total += desc.Size // not started
		case st.Exists:
		case st.Committed:
			uploaded += desc.Size
			total += desc.Size
		default:
			uploaded += st.Offset
			total += desc.Size
		}
	}
	return uploaded, total
}

// PushAll pushes refs in parallel, each distinct image once. Every push runs to its
// end; the errors of all that failed are returned together, so that a caller that
// ignores push failures can still name each.
func (c *Client) PushAll(ctx context.Context, refs []string, sink progress.Sink) error {
	var names []string
	for _, ref := range refs {
		name, err := NormalizeRef(ref)
		if err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	errs := make([]error, len(names))
	var g errgroup.Group
	g.SetLimit(pullParallelism)
	for i, name := range names {
		g.Go(func() error {
			_, errs[i] = c.Push(ctx, name, sink)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// Tag names the stored image src also dst (as `docker tag` does): push --registry
// pushes a built image under its registry's name. An existing dst is moved.
func (c *Client) Tag(ctx context.Context, src, dst string) error {
	ctx = c.Context(ctx)
	srcName, err := NormalizeRef(src)
	if err != nil {
		return fmt.Errorf("tag %s: %w", src, err)
	}
	dstName, err := NormalizeRef(dst)
	if err != nil {
		return fmt.Errorf("tag %s as %s: %w", src, dst, err)
	}
	is := c.client.ImageService()
	img, err := is.Get(ctx, srcName)
	if errdefs.IsNotFound(err) {
		return &imageError{msg: fmt.Sprintf("tag %s: no such image in namespace %s", srcName, c.namespace), err: ErrImageNotFound}
	}
	if err != nil {
		return fmt.Errorf("tag %s: %w", srcName, err)
	}
	img.Name = dstName
	if _, err := is.Create(ctx, img); errdefs.IsAlreadyExists(err) {
		_, err = is.Update(ctx, img)
		if err != nil {
			return fmt.Errorf("tag %s as %s: %w", srcName, dstName, err)
		}
	} else if err != nil {
		return fmt.Errorf("tag %s as %s: %w", srcName, dstName, err)
	}
	return nil
}
