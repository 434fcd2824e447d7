package ctrd

import (
	"context"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeContent answers a pull watcher's two questions from fixed maps.
type fakeContent struct {
	content.Store
	ingesting map[string]int64            // ref key → offset
	committed map[digest.Digest]time.Time // digest → creation
}

func (f *fakeContent) ListStatuses(context.Context, ...string) ([]content.Status, error) {
	var out []content.Status
	for ref, off := range f.ingesting {
		out = append(out, content.Status{Ref: ref, Offset: off})
	}
	return out, nil
}

func (f *fakeContent) Info(_ context.Context, d digest.Digest) (content.Info, error) {
	created, ok := f.committed[d]
	if !ok {
		return content.Info{}, errdefs.ErrNotFound
	}
	return content.Info{Digest: d, CreatedAt: created}, nil
}

// A blob's bytes keep counting while it moves from the ingestions to the
// store, a window in which containerd reports it in neither.
func TestPullWatcherMeasure(t *testing.T) {
	ctx := context.Background()
	blob := func(s string, size int64) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString(s), Size: size}
	}
	old, moving, waiting := blob("old", 1000), blob("moving", 300), blob("waiting", 50)
	store := &fakeContent{
		ingesting: map[string]int64{},
		committed: map[digest.Digest]time.Time{old.Digest: time.Now().Add(-time.Hour)},
	}
	w := newPullWatcher(store, "Image x", nil)
	h := w.handler()
	for _, d := range []ocispec.Descriptor{old, moving, waiting} {
		if _, err := h.Handle(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		name          string
		change        func()
		current, want int64
		active        bool
	}{
		{"nothing yet", func() {}, 0, 350, false},
		{"writing", func() { store.ingesting[remotes.MakeRefKey(ctx, moving)] = 200 }, 200, 350, true},
		{"committing", func() { delete(store.ingesting, remotes.MakeRefKey(ctx, moving)) }, 200, 350, false},
		{"committed", func() { store.committed[moving.Digest] = time.Now() }, 300, 350, false},
		{"last one", func() { store.committed[waiting.Digest] = time.Now() }, 350, 350, false},
	}
	for _, s := range steps {
		s.change()
		if _, err := w.measure(ctx); err != nil {
			t.Fatal(err)
		}
		if w.current != s.current || w.total != s.want || w.active != s.active {
			t.Errorf("%s: %d/%d active %v, want %d/%d active %v", s.name, w.current, w.total, w.active, s.current, s.want, s.active)
		}
	}
}
