package ctrd

import (
	"fmt"

	"github.com/distribution/reference"
)

// NormalizeRef turns a reference as a user writes it into the full name
// containerd stores, the way docker does: "redis" becomes
// "docker.io/library/redis:latest". Digests are kept; a tag next to a digest
// is dropped because the digest alone decides what is pulled.
func NormalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// splitRef returns what `docker images` shows for a stored name: the familiar
// repository ("redis", "127.0.0.1:5000/app") and the tag ("7", or "<none>"
// for images known only by digest).
func splitRef(name string) (repository, tag string) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name, "<none>"
	}
	repository = reference.FamiliarName(named)
	if tagged, ok := named.(reference.Tagged); ok {
		return repository, tagged.Tag()
	}
	return repository, "<none>"
}

// registryOf returns the registry host of a normalised name, e.g. "docker.io".
func registryOf(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}
