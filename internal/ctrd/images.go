package ctrd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/snapshots"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrImageNotFound marks a missing image, locally or in a registry. It also
// matches errdefs.IsNotFound.
var ErrImageNotFound = fmt.Errorf("image %w", errdefs.ErrNotFound)

// ImageInfo describes a stored image the way `docker images` does.
type ImageInfo struct {
	Name       string // full stored name, e.g. "docker.io/library/redis:7"
	Repository string // familiar repository, e.g. "redis"
	Tag        string // "7", or "<none>" for images known only by digest
	ID         string // config digest, what docker shows as IMAGE ID
	Digest     string // target (index or manifest) digest, the repo digest
	// Size is the unpacked size: the sum of the image's layer snapshots, as
	// `docker images` shows. For an image not unpacked into the snapshotter
	// it is the compressed content size instead.
	Size     int64
	Created  time.Time
	Platform string // e.g. "linux/amd64"
	Config   ocispec.ImageConfig
	// Healthcheck is the image's HEALTHCHECK (Docker image configs carry
	// it; OCI's type drops it), nil when it has none.
	Healthcheck *HealthConfig
}

// imageError carries a one-line message a person reads while still matching
// the sentinel it wraps.
type imageError struct {
	msg string
	err error
}

func (e *imageError) Error() string { return e.msg }
func (e *imageError) Unwrap() error { return e.err }

// ImageInfo describes the stored image that ref names.
func (c *Client) ImageInfo(ctx context.Context, ref string) (ImageInfo, error) {
	ctx = c.Context(ctx)
	name, err := NormalizeRef(ref)
	if err != nil {
		return ImageInfo{}, err
	}
	img, err := c.client.ImageService().Get(ctx, name)
	if errdefs.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", name, ErrImageNotFound)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", name, err)
	}
	return c.describe(ctx, img, true)
}

// ImageConfig is ImageInfo without the size, which costs a walk of every
// layer: what `up` needs for each service.
func (c *Client) ImageConfig(ctx context.Context, ref string) (ImageInfo, error) {
	ctx = c.Context(ctx)
	name, err := NormalizeRef(ref)
	if err != nil {
		return ImageInfo{}, err
	}
	img, err := c.client.ImageService().Get(ctx, name)
	if errdefs.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", name, ErrImageNotFound)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspect image %s: %w", name, err)
	}
	return c.describe(ctx, img, false)
}

// ListImages returns the named images that exist, or every image of the
// namespace when no ref is given, sorted by name.
func (c *Client) ListImages(ctx context.Context, refs ...string) ([]ImageInfo, error) {
	ctx = c.Context(ctx)
	var filters []string
	for _, ref := range refs {
		name, err := NormalizeRef(ref)
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		// Quote the value: names contain characters the filter syntax treats specially.
		filters = append(filters, fmt.Sprintf("name==%q", name))
	}
	imgs, err := c.client.ImageService().List(ctx, filters...)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	infos := make([]ImageInfo, 0, len(imgs))
	for _, img := range imgs {
		info, err := c.describe(ctx, img, true)
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b ImageInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// RemoveImage removes an image and, before returning, the content and
// snapshots no other image uses. A missing image is not an error.
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	ctx = c.Context(ctx)
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	err = c.client.ImageService().Delete(ctx, name, images.SynchronousDelete())
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	return nil
}

// describe reads an image's config for the client's platform, through the
// client's blob cache.
func (c *Client) describe(ctx context.Context, meta images.Image, withSize bool) (ImageInfo, error) {
	config, err := meta.Config(ctx, c.blobs, c.platform)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("read config of image %s for %s: %w", meta.Name, c.platformName, err)
	}
	var spec ocispec.Image
	if err := readJSONBlob(ctx, c.blobs, config, &spec); err != nil {
		return ImageInfo{}, fmt.Errorf("read config of image %s: %w", meta.Name, err)
	}
	var size int64
	if withSize {
		img := containerd.NewImageWithPlatform(c.client, meta, c.platform)
		if size, err = c.imageSize(ctx, img, spec); err != nil {
			return ImageInfo{}, fmt.Errorf("measure image %s: %w", meta.Name, err)
		}
	}
	hc, err := c.healthcheck(ctx, config)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("read config of image %s: %w", meta.Name, err)
	}
	repo, tag := splitRef(meta.Name)
	info := ImageInfo{
		Name:        meta.Name,
		Repository:  repo,
		Tag:         tag,
		ID:          config.Digest.String(),
		Digest:      meta.Target.Digest.String(),
		Size:        size,
		Platform:    platforms.Format(spec.Platform),
		Config:      spec.Config,
		Healthcheck: hc,
	}
	if spec.Created != nil {
		info.Created = *spec.Created
	}
	return info, nil
}

// imageSize sums the usage of the image's layer snapshots, falling back to
// the content size when the image is not unpacked.
func (c *Client) imageSize(ctx context.Context, img containerd.Image, spec ocispec.Image) (int64, error) {
	sn := c.client.SnapshotService(c.snapshotter)
	var total int64
	for _, chainID := range identity.ChainIDs(spec.RootFS.DiffIDs) {
		usage, err := sn.Usage(ctx, chainID.String())
		if errdefs.IsNotFound(err) {
			return img.Size(ctx)
		}
		if err != nil {
			return 0, err
		}
		total += usage.Size
	}
	return total, nil
}

// DeleteNamespace removes every image and lease of the client's namespace,
// collects the content and snapshots they held, and deletes the namespace.
// Tests use it to leave containerd as they found it.
func (c *Client) DeleteNamespace(ctx context.Context) error {
	ctx = c.Context(ctx)
	if err := c.deleteContainers(ctx); err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	// containerd deletes a namespace that still has tasks: it keeps no record of them
	if err := c.ClearOrphanTasks(ctx, ""); err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	is := c.client.ImageService()
	imgs, err := is.List(ctx)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	for _, img := range imgs {
		if err := is.Delete(ctx, img.Name); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: remove image %s: %w", c.namespace, img.Name, err)
		}
	}
	if err := c.dropLeases(ctx); err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	cs := c.client.ContentStore()
	active, err := cs.ListStatuses(ctx)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	for _, st := range active {
		if err := cs.Abort(ctx, st.Ref); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: abort ingest %s: %w", c.namespace, st.Ref, err)
		}
	}
	if err := c.removeSnapshots(ctx); err != nil {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	err = c.client.NamespaceService().Delete(ctx, c.namespace)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", c.namespace, err)
	}
	return nil
}

// dropLeases deletes all leases, the last one synchronously: that runs the
// garbage collector now, so unreferenced content and snapshots are gone
// before the namespace is deleted.
func (c *Client) dropLeases(ctx context.Context) error {
	ls := c.client.LeasesService()
	all, err := ls.List(ctx)
	if err != nil {
		return fmt.Errorf("list leases: %w", err)
	}
	// A lease of our own guarantees a synchronous delete even when none is left.
	gc, err := ls.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Minute))
	if err != nil {
		return fmt.Errorf("create lease: %w", err)
	}
	var errs []error
	for _, l := range all {
		if err := ls.Delete(ctx, l); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete lease %s: %w", l.ID, err))
		}
	}
	if err := ls.Delete(ctx, gc, leases.SynchronousDelete); err != nil {
		errs = append(errs, fmt.Errorf("collect garbage: %w", err))
	}
	return errors.Join(errs...)
}

// deleteContainers removes every container of the namespace with its task.
func (c *Client) deleteContainers(ctx context.Context) error {
	list, err := c.client.ContainerService().List(ctx)
	if err != nil {
		return err
	}
	for _, ctr := range list {
		if err := c.DeleteContainer(ctx, ctr.ID); err != nil {
			return err
		}
	}
	return nil
}

// removeSnapshots removes the snapshots nothing references any more, leaves
// first, so that a crashed test leaves no layers behind.
func (c *Client) removeSnapshots(ctx context.Context) error {
	sn := c.client.SnapshotService(c.snapshotter)
	for round := 0; round < 64; round++ {
		parents := map[string]bool{}
		var all []string
		err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			all = append(all, info.Name)
			if info.Parent != "" {
				parents[info.Parent] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(all) == 0 {
			return nil
		}
		for _, name := range all {
			if parents[name] {
				continue
			}
			if err := sn.Remove(ctx, name); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("remove snapshot %s: %w", name, err)
			}
		}
	}
	return nil
}
