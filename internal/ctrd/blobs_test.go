package ctrd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// countingStore serves blobs from memory and counts the reads.
type countingStore struct {
	blobs map[digest.Digest][]byte
	reads int
}

func (s *countingStore) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	s.reads++
	return blobReader{bytes.NewReader(s.blobs[desc.Digest])}, nil
}

func TestBlobCacheReadsSmallBlobsOnce(t *testing.T) {
	small, large := []byte(`{"config":{}}`), []byte(strings.Repeat("x", maxCachedBlob+1))
	store := &countingStore{blobs: map[digest.Digest][]byte{digest.FromBytes(small): small, digest.FromBytes(large): large}}
	cache := newBlobCache(store)
	for range 3 {
		for _, blob := range [][]byte{small, large} {
			got, err := content.ReadBlob(t.Context(), cache, ocispec.Descriptor{Digest: digest.FromBytes(blob)})
			if err != nil || !bytes.Equal(got, blob) {
				t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(blob))
			}
		}
	}
	if store.reads != 1+3 {
		t.Errorf("%d reads from the store, want 1 of the small blob and 3 of the large one", store.reads)
	}
}
