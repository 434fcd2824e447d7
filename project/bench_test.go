package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchCompose writes a compose file of n services, each depending on the previous one
// and carrying the usual fields (ports, environment, volumes, healthcheck), so that
// loading exercises interpolation, validation and normalisation at a realistic size.
func benchCompose(b *testing.B, n int) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("name: bench\nservices:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  s%d:\n    image: berth-bench/busybox:${TAG:-latest}\n", i)
		sb.WriteString("    command: [\"sh\", \"-c\", \"sleep 3600\"]\n")
		fmt.Fprintf(&sb, "    environment:\n      INDEX: \"%d\"\n      MODE: bench\n", i)
		fmt.Fprintf(&sb, "    ports: [\"127.0.0.1:%d:80\"]\n", 20000+i)
		fmt.Fprintf(&sb, "    volumes: [\"data%d:/data\"]\n", i)
		sb.WriteString("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 5s\n")
		if i > 1 {
			fmt.Fprintf(&sb, "    depends_on:\n      s%d:\n        condition: service_started\n", i-1)
		}
	}
	sb.WriteString("volumes:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  data%d: {}\n", i)
	}
	path := filepath.Join(b.TempDir(), "compose.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkLoad50(b *testing.B) {
	path := benchCompose(b, 50)
	opts := LoadOptions{ConfigPaths: []string{path}, Environ: []string{}}
	for b.Loop() {
		if _, err := Load(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServiceHash50(b *testing.B) {
	path := benchCompose(b, 50)
	p, err := Load(b.Context(), LoadOptions{ConfigPaths: []string{path}, Environ: []string{}})
	if err != nil {
		b.Fatal(err)
	}
	services := p.Services
	for b.Loop() {
		for _, s := range services {
			if _, err := ServiceHash(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
