// Package kv is the key-value storage of the example apps: the on-disk format (Dir), the
// store service's HTTP API (Handler) and its client (Client). The monolith keeps a Dir in
// its own process; after the split the store service keeps the same Dir and the other
// services reach it through a Client, which is why v2 can take over v1's volume as is.
package kv

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound says a key holds no value.
var ErrNotFound = errors.New("not found")

// maxKeyLen keeps a key a valid file name on every file system.
const maxKeyLen = 128

// Store is what the notes code needs of storage, local or remote.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	// List returns the keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Check reports whether the storage can be used: health checks call it.
	Check(ctx context.Context) error
}

// KeyError says why a key was refused.
type KeyError struct {
	Key, Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("invalid key %q: %s", e.Key, e.Reason) }

// ValidKey accepts 1 to 128 letters, digits, '.', '_' and '-', not starting with '.':
// a key is a file name, and dot files are the store's own (temporary files, probes).
func ValidKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return &KeyError{key, fmt.Sprintf("want 1 to %d characters", maxKeyLen)}
	}
	if key[0] == '.' {
		return &KeyError{key, "must not start with '.'"}
	}
	for _, r := range key {
		if !isKeyRune(r) {
			return &KeyError{key, "only letters, digits, '.', '_' and '-' are allowed"}
		}
	}
	return nil
}

func isKeyRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}
