package ctrd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	digest "github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/progress"
)

// loadLeaseExpiry bounds how long the blobs of an interrupted load survive
// when even the cleanup could not run.
const loadLeaseExpiry = time.Hour

// unnamedRepository names images that an archive carries without a name, so
// that they can still be listed, run and removed: "import@sha256:...".
const unnamedRepository = "import"

// Load imports a `docker save` archive or an OCI image-layout archive, keeps
// the manifests for the client's platform, unpacks them into the snapshotter
// and returns the names of the stored images. The import runs under a lease:
// if it fails, the blobs it wrote are collected before Load returns. An image
// stored whole but not unpacked (another platform, say) stays, with the error.
func (c *Client) Load(ctx context.Context, r io.Reader, sink progress.Sink) ([]string, error) {
	ctx = c.Context(ctx)
	sink = progress.Or(sink)
	ls := c.client.LeasesService()
	lease, err := ls.Create(ctx, leases.WithRandomID(), leases.WithExpiration(loadLeaseExpiry))
	if err != nil {
		return nil, fmt.Errorf("load images: create lease: %w", err)
	}
	names, err := c.load(leases.WithLease(ctx, lease.ID), r, sink)
	// Clean up even when ctx was cancelled (an interrupted load).
	cleanup := context.WithoutCancel(ctx)
	if err != nil {
		_ = ls.Delete(cleanup, lease, leases.SynchronousDelete)
		return nil, err
	}
	if err := ls.Delete(cleanup, lease); err != nil {
		return nil, fmt.Errorf("load images: release lease: %w", err)
	}
	return names, nil
}

func (c *Client) load(ctx context.Context, r io.Reader, sink progress.Sink) ([]string, error) {
	imgs, err := c.client.Import(ctx, r,
		containerd.WithImportPlatform(c.platform),
		containerd.WithAllPlatforms(false),
		containerd.WithImageRefTranslator(ociRefName),
		containerd.WithDigestRef(unnamedRef),
		containerd.WithSkipDigestRef(func(name string) bool { return name != "" }),
	)
	if err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	var names []string
	for _, meta := range imgs {
		if slices.Contains(names, meta.Name) {
			continue
		}
		if err := c.unpack(ctx, meta, sink); err != nil {
			return nil, err
		}
		names = append(names, meta.Name)
	}
	return names, nil
}

func (c *Client) unpack(ctx context.Context, meta images.Image, sink progress.Sink) error {
	id := "Image " + meta.Name
	sink.Event(progress.Event{ID: id, Status: "Unpacking"})
	img := containerd.NewImageWithPlatform(c.client, meta, c.platform)
	if err := img.Unpack(ctx, c.snapshotter); err != nil {
		err = fmt.Errorf("load image %s: unpack for %s: %w", meta.Name, c.platformName, err)
		sink.Event(progress.Event{ID: id, Status: "Error", Text: err.Error(), Done: true, Err: true})
		return err
	}
	sink.Event(progress.Event{ID: id, Status: "Loaded", Done: true})
	return nil
}

// ociRefName normalises an OCI layout's org.opencontainers.image.ref.name.
// The annotation may be a full reference or only a tag ("latest"); a bare
// tag names no repository, so such images are stored by digest instead.
func ociRefName(name string) string {
	if !strings.ContainsAny(name, "/:@") {
		return ""
	}
	normalized, err := NormalizeRef(name)
	if err != nil {
		return ""
	}
	return normalized
}

func unnamedRef(dgst digest.Digest) string {
	name, err := NormalizeRef(unnamedRepository + "@" + dgst.String())
	if err != nil {
		return ""
	}
	return name
}
