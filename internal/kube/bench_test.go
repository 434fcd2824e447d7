package kube

import (
	"path/filepath"
	"testing"
)

// BenchmarkConvert converts the corpus' largest Compose
// file (pihole-cloudflared-DoH, by size; loading excluded) and the
// everything stack, which exercises every mapping.
func BenchmarkConvert(b *testing.B) {
	for _, dir := range []string{"../../project/testdata/awesome-compose/pihole-cloudflared-DoH", "testdata/everything"} {
		b.Run(filepath.Base(dir), func(b *testing.B) {
			abs, _ := filepath.Abs(dir)
			p := loadDirIn(b, abs)
			opts := Options{BindMounts: BindConfigMap}
			for b.Loop() {
				if _, err := Convert(p, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
