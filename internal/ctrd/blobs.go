package ctrd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxCachedBlob bounds the blobs blobCache keeps: indexes, manifests and configs are
// a few KiB, layers are never asked for.
const maxCachedBlob = 1 << 20

// blobCache is a content.Provider that keeps the small blobs it reads. Reading an
// image's config takes a round trip to containerd per blob (index, manifest, config,
// and the config once more for its health check), and `up` reads it for every
// service, often of the same image: 50 services cost hundreds of round trips. A blob
// is addressed by its digest, so a kept one never goes stale, also in the long-lived
// helper; what changes (which image a name points to) is still asked every time.
type blobCache struct {
	store content.Provider
	mu    sync.Mutex
	blobs map[digest.Digest][]byte
}

func newBlobCache(store content.Provider) *blobCache {
	return &blobCache{store: store, blobs: map[digest.Digest][]byte{}}
}

// ReaderAt returns the blob from the cache, or reads it and keeps it when it is small.
func (b *blobCache) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	b.mu.Lock()
	data, ok := b.blobs[desc.Digest]
	b.mu.Unlock()
	if ok {
		return blobReader{bytes.NewReader(data)}, nil
	}
	ra, err := b.store.ReaderAt(ctx, desc)
	if err != nil || ra.Size() > maxCachedBlob {
		return ra, err
	}
	defer ra.Close()
	data = make([]byte, ra.Size())
	if _, err := io.ReadFull(io.NewSectionReader(ra, 0, ra.Size()), data); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", desc.Digest, err)
	}
	b.mu.Lock()
	b.blobs[desc.Digest] = data
	b.mu.Unlock()
	return blobReader{bytes.NewReader(data)}, nil
}

// blobReader is a kept blob as a content.ReaderAt.
type blobReader struct{ *bytes.Reader }

func (blobReader) Close() error { return nil }

// readJSONBlob reads a blob and decodes it into v.
func readJSONBlob(ctx context.Context, p content.Provider, desc ocispec.Descriptor, v any) error {
	data, err := content.ReadBlob(ctx, p, desc)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", desc.Digest, err)
	}
	return nil
}
