package ctrd

import (
	"context"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/progress"
)

// pollInterval is how often a pull's active downloads are read, as ctr does.
const pollInterval = 100 * time.Millisecond

type blobState int

const (
	blobPending blobState = iota // not in the store yet, maybe downloading
	blobExisted                  // in the store before the pull began: not downloaded
	blobFetched                  // written by this pull
)

// pullWatcher reports a pull's progress. The pull's image handler tells it
// which blobs the pull touches; it reads their progress from the content
// store's active ingestions, which is all containerd 1.6 offers without the
// transfer service.
type pullWatcher struct {
	cs    content.Store
	id    string
	sink  progress.Sink
	start time.Time

	dispatched
	states map[digest.Digest]blobState // owned by the goroutine calling measure
	// offsets holds each blob's last offset seen while it was written: between
	// the end of its ingestion and its record in the metadata store a blob is
	// neither ingesting nor found, and must not count as nothing yet.
	offsets map[digest.Digest]int64

	// Last measurement and last report, owned by the goroutine calling measure.
	current, total int64
	active         bool
	sent           progress.Event
}

func newPullWatcher(cs content.Store, id string, sink progress.Sink) *pullWatcher {
	return &pullWatcher{
		cs:      cs,
		id:      id,
		sink:    sink,
		start:   time.Now(),
		states:  map[digest.Digest]blobState{},
		offsets: map[digest.Digest]int64{},
	}
}

// dispatched records, once each, the blobs a pull's or a push's image handler is
// given; handlers run concurrently.
type dispatched struct {
	mu    sync.Mutex
	descs []ocispec.Descriptor
	seen  map[digest.Digest]bool
}

// handler records every blob dispatched to it. With unpacking, a pull never
// dispatches the layers whose snapshot already exists.
func (d *dispatched) handler() images.Handler {
	return images.HandlerFunc(func(_ context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.seen == nil {
			d.seen = map[digest.Digest]bool{}
		}
		if !d.seen[desc.Digest] {
			d.seen[desc.Digest] = true
			d.descs = append(d.descs, desc)
		}
		return nil, nil
	})
}

// list is a copy of the blobs recorded so far.
func (d *dispatched) list() []ocispec.Descriptor {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ocispec.Descriptor(nil), d.descs...)
}

// resolved reports whether the registry answered with a descriptor at all.
func (w *pullWatcher) resolved() bool {
	return len(w.list()) > 0
}

func (w *pullWatcher) run(ctx context.Context) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if _, err := w.measure(ctx); err == nil {
				w.report()
			}
		}
	}
}

// measure sums, over the blobs this pull downloads, the bytes written so far
// and the bytes expected. Blobs present before the pull count for neither.
func (w *pullWatcher) measure(ctx context.Context) (int64, error) {
	statuses, err := w.cs.ListStatuses(ctx)
	if err != nil {
		return 0, err
	}
	ingesting := make(map[string]content.Status, len(statuses))
	for _, st := range statuses {
		ingesting[st.Ref] = st
	}
	descs := w.list()

	var current, total int64
	active := false
	for _, desc := range descs {
		if st, ok := ingesting[remotes.MakeRefKey(ctx, desc)]; ok {
			current += st.Offset
			total += desc.Size
			active = true
			w.offsets[desc.Digest] = st.Offset
			continue
		}
		switch w.state(ctx, desc) {
		case blobFetched:
			current += desc.Size
			total += desc.Size
		case blobPending:
			current += w.offsets[desc.Digest]
			total += desc.Size
		}
	}
	w.current, w.total, w.active = current, total, active
	return current, nil
}

// state classifies a blob that is not being written; only settled answers
// are remembered, a pending blob is asked about again next time.
func (w *pullWatcher) state(ctx context.Context, desc ocispec.Descriptor) blobState {
	if s, ok := w.states[desc.Digest]; ok {
		return s
	}
	info, err := w.cs.Info(ctx, desc.Digest)
	if err != nil {
		// Not found means not written yet; other errors get another try.
		return blobPending
	}
	s := blobFetched
	if info.CreatedAt.Before(w.start) {
		s = blobExisted
	}
	w.states[desc.Digest] = s
	return s
}

// report emits Downloading while bytes move and Unpacking once every blob is
// in, which is where a pull spends its remaining time.
func (w *pullWatcher) report() {
	if w.total == 0 {
		return
	}
	status := "Downloading"
	if w.current == w.total && !w.active {
		status = "Unpacking"
	}
	e := progress.Event{ID: w.id, Status: status, Current: w.current, Total: w.total}
	if e == w.sent {
		return
	}
	w.sent = e
	w.sink.Event(e)
}
