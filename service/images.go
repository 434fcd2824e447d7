package service

import (
	"context"
	"errors"
	"sync"

	"github.com/berth-dev/berth/internal/ctrd"
)

// imageCache remembers, for one command, what the image store answered for each
// reference: deciding what to build, what to pull and reading the configs then ask
// containerd once per image on a no-op up, not three times. Building or pulling
// changes the answers: reset then.
type imageCache struct {
	rt   Runtime
	mu   sync.Mutex
	seen map[string]imageAnswer
}

type imageAnswer struct {
	info ctrd.ImageInfo
	err  error
}

func (e *Engine) newImageCache() *imageCache {
	return &imageCache{rt: e.Runtime, seen: map[string]imageAnswer{}}
}

// get is Runtime.ImageConfig, asked once per reference.
func (c *imageCache) get(ctx context.Context, ref string) (ctrd.ImageInfo, error) {
	c.mu.Lock()
	a, ok := c.seen[ref]
	c.mu.Unlock()
	if ok {
		return a.info, a.err
	}
	info, err := c.rt.ImageConfig(ctx, ref)
	if err == nil || errors.Is(err, ctrd.ErrImageNotFound) {
		c.mu.Lock()
		c.seen[ref] = imageAnswer{info, err}
		c.mu.Unlock()
	}
	return info, err
}

// reset forgets every answer, after a build or a pull.
func (c *imageCache) reset() {
	c.mu.Lock()
	c.seen = map[string]imageAnswer{}
	c.mu.Unlock()
}
