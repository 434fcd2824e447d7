package project

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const pushCompose = `name: shop
services:
  api:
    build: {context: ., tags: ["registry.example:5000/api:v1", "127.0.0.1:5000/api:latest"]}
    image: 127.0.0.1:5000/api:latest
    depends_on: [db, migrate]
  migrate:
    build: .
    image: 127.0.0.1:5000/migrate:1
  db:
    image: postgres:16
  worker:
    build: .
`

func TestPushImages(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(pushCompose), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		services    []string
		includeDeps bool
		refs        []string
		skipped     []string
	}{
		{name: "all", refs: []string{"127.0.0.1:5000/api:latest", "registry.example:5000/api:v1", "127.0.0.1:5000/migrate:1"},
			skipped: []string{"db", "worker"}},
		{name: "named without deps", services: []string{"api"},
			refs: []string{"127.0.0.1:5000/api:latest", "registry.example:5000/api:v1"}},
		{name: "named with deps", services: []string{"api"}, includeDeps: true,
			refs:    []string{"127.0.0.1:5000/api:latest", "registry.example:5000/api:v1", "127.0.0.1:5000/migrate:1"},
			skipped: []string{"db"}},
		{name: "nothing to push", services: []string{"db"}, skipped: []string{"db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(t.Context(), LoadOptions{
				ConfigPaths: []string{file}, Environ: []string{},
				Services: tt.services, NoDeps: !tt.includeDeps,
			})
			if err != nil {
				t.Fatal(err)
			}
			refs, skipped := PushImages(p)
			if !slices.Equal(refs, tt.refs) || !slices.Equal(skipped, tt.skipped) {
				t.Errorf("PushImages = %q, skipped %q; want %q, skipped %q", refs, skipped, tt.refs, tt.skipped)
			}
		})
	}
}
