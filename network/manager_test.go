package network

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A record a crash of the machine left empty (written without waiting for the disk)
// reads as missing, so that Detach sweeps instead of failing; a damaged one is an error.
func TestReadJSONEmptyIsMissing(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    func(error) bool
	}{
		{"", func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"{", func(err error) bool { return err != nil && !errors.Is(err, ErrNotFound) }},
		{`{"containerID":"c1"}`, func(err error) bool { return err == nil }},
	} {
		path := filepath.Join(dir, "c1.json")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		var rec record
		if err := readJSON(path, &rec); !tc.want(err) {
			t.Errorf("content %q: readJSON = %v", tc.content, err)
		}
	}
}
