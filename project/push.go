package project

import (
	"slices"

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
