package ctrd

import (
	"context"
	"errors"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeTracker is the resolver's upload tracker with fixed answers.
type fakeTracker map[string]docker.Status

func (f fakeTracker) GetStatus(ref string) (docker.Status, error) {
	st, ok := f[ref]
	if !ok {
		return docker.Status{}, errors.New("not found")
	}
	return st, nil
}

func (f fakeTracker) SetStatus(ref string, st docker.Status) { f[ref] = st }

func TestPushWatcherMeasure(t *testing.T) {
	ctx := context.Background()
	blob := func(s string, size int64) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromString(s), Size: size}
	}
	waiting, existing, done, moving := blob("waiting", 100), blob("existing", 1000), blob("done", 10), blob("moving", 50)
	tracker := fakeTracker{
		remotes.MakeRefKey(ctx, existing): {Committed: true, PushStatus: docker.PushStatus{Exists: true}},
		remotes.MakeRefKey(ctx, done):     {Committed: true},
		remotes.MakeRefKey(ctx, moving):   {Status: content.Status{Offset: 20}},
	}
	w := &pushWatcher{tracker: tracker}
	h := w.handler()
	for _, d := range []ocispec.Descriptor{waiting, existing, done, moving, done} {
		if _, err := h.Handle(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	uploaded, total := w.measure(ctx)
	// The registry's own blob counts for neither; a blob seen twice counts once.
	if uploaded != 10+20 || total != 100+10+50 {
		t.Errorf("measure = %d/%d, want 30/160", uploaded, total)
	}
}
