package service

import (
	"slices"
	"testing"
)

// TestUpAsksForEachImageOnce: deciding what to build, what to pull and reading the
// configs share one answer per image on a no-op up.
func TestUpAsksForEachImageOnce(t *testing.T) {
	p := buildProject(buildService("web"), imageService("db", "postgres:17"))
	rt := newImageStore(t, "proj-web", "postgres:17")
	e, _ := buildEngine(rt, &specRecorder{})
	lookup := e.newImageCache()
	if _, err := e.buildForUp(t.Context(), lookup, p, UpRequest{}); err != nil {
		t.Fatal(err)
	}
	images, err := e.ensureImages(t.Context(), lookup, p, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 {
		t.Fatalf("configs of %d images, want 2", len(images))
	}
	asked := slices.Clone(rt.asked)
	slices.Sort(asked)
	if len(slices.Compact(asked)) != len(rt.asked) {
		t.Errorf("asked the image store %v: some image more than once", rt.asked)
	}
}
