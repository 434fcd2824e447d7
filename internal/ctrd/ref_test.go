package ctrd

import "testing"

func TestNormalizeRef(t *testing.T) {
	const dgst = "sha256:4b6bd6a3f5c17b7b1b8f8c4f1b9a8f0e1c0d0a6b2f3e4d5c6b7a8f9e0d1c2b3a"
	tests := []struct{ in, want string }{
		{"redis", "docker.io/library/redis:latest"},
		{"redis:7", "docker.io/library/redis:7"},
		{"library/redis", "docker.io/library/redis:latest"},
		{"bitnami/redis:7.2", "docker.io/bitnami/redis:7.2"},
		{"docker.io/library/redis:7", "docker.io/library/redis:7"},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"},
		{"localhost/app:v1", "localhost/app:v1"},
		{"ghcr.io/o/r/app:1", "ghcr.io/o/r/app:1"},
		{"redis@" + dgst, "docker.io/library/redis@" + dgst},
		{"redis:7@" + dgst, "docker.io/library/redis@" + dgst},
	}
	for _, tt := range tests {
		got, err := NormalizeRef(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "Redis", "redis:", "a b"} {
		if got, err := NormalizeRef(bad); err == nil {
			t.Errorf("NormalizeRef(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSplitRef(t *testing.T) {
	tests := []struct{ in, repo, tag string }{
		{"docker.io/library/redis:7", "redis", "7"},
		{"docker.io/bitnami/redis:latest", "bitnami/redis", "latest"},
		{"127.0.0.1:5000/app:v1", "127.0.0.1:5000/app", "v1"},
		{"docker.io/library/import@sha256:4b6bd6a3f5c17b7b1b8f8c4f1b9a8f0e1c0d0a6b2f3e4d5c6b7a8f9e0d1c2b3a", "import", "<none>"},
	}
	for _, tt := range tests {
		repo, tag := splitRef(tt.in)
		if repo != tt.repo || tag != tt.tag {
			t.Errorf("splitRef(%q) = %q, %q; want %q, %q", tt.in, repo, tag, tt.repo, tt.tag)
		}
	}
}

func TestOCIRefName(t *testing.T) {
	tests := map[string]string{
		"latest":                    "",
		"v1.0":                      "",
		"app:1":                     "docker.io/library/app:1",
		"docker.io/berth/oci:v1":    "docker.io/berth/oci:v1",
		"127.0.0.1:5000/x/y:latest": "127.0.0.1:5000/x/y:latest",
		"Not/Valid:x":               "",
	}
	for in, want := range tests {
		if got := ociRefName(in); got != want {
			t.Errorf("ociRefName(%q) = %q, want %q", in, got, want)
		}
	}
}
