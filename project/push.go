package project

import (
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// PushImages returns what `push` uploads for the services of p, as Docker Compose
// decides: the image: of every service that also has a build: section, then that
// build's tags, each reference once, in service order. Skipped names the services
// with nothing to push (no build: or no image:), which Compose reports as skipped.
// Which services p holds (the named ones, with or without their dependencies) is
// decided when it is loaded.
func PushImages(p *types.Project) (refs, skipped []string) {
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil || s.Image == "" {
			skipped = append(skipped, name)
			continue
		}
		for _, ref := range append([]string{s.Image}, s.Build.Tags...) {
			if !slices.Contains(refs, ref) {
				refs = append(refs, ref)
			}
		}
	}
	return refs, skipped
}

// RegistryImage moves an image reference under a registry path, keeping its
// repository path and tag: the name `berth push --registry` pushes a built image to,
// and the one `berth kube convert --registry` puts in the manifests.
func RegistryImage(registry, image string) string {
	if HasRegistry(image) {
		_, image, _ = strings.Cut(image, "/")
	}
	return strings.TrimSuffix(registry, "/") + "/" + image
}

// HasRegistry applies Docker's rule: the first path component names a registry when
// it has a '.' or a ':' or is localhost.
func HasRegistry(image string) bool {
	first, _, ok := strings.Cut(image, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

// PushTarget is one image push pushes: Source as berth stores it, Target the name
// it is pushed as (the same without --registry).
type PushTarget struct {
	Source, Target string
}

// RegistryPushes is what push --registry pushes: the image of every service with
// build: (the image: it is tagged with, or <project>-<service>) and its build.tags,
// moved under the registry, as the conversion names them.
func RegistryPushes(p *types.Project, registry string) (pushes []PushTarget, skipped []string) {
	seen := map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil {
			skipped = append(skipped, name)
			continue
		}
		for _, ref := range append([]string{ImageName(p.Name, s)}, s.Build.Tags...) {
			if !seen[ref] {
				seen[ref] = true
				pushes = append(pushes, PushTarget{Source: ref, Target: RegistryImage(registry, ref)})
			}
		}
	}
	return pushes, skipped
}
