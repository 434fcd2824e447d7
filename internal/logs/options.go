package logs

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The compose logging.options berth supports, with Docker's json-file meaning.
const (
	OptMaxSize = "max-size"
	OptMaxFile = "max-file"
)

// Defaults when the compose file sets no logging options: 10m (10,000,000 bytes, Docker's
// decimal units) and 3 files, bounding a container's log at 30 MB.
const (
	DefaultMaxSize  = 10_000_000
	DefaultMaxFiles = 3
)

// RotateOptions bound a container's log: the current file is rotated once it would grow
// beyond MaxSize bytes, and at most MaxFiles files (the current one included) are kept.
// Zero fields mean the defaults.
type RotateOptions struct {
	MaxSize  int64
	MaxFiles int
}

// withDefaults fills zero fields and rejects negative ones.
func (o RotateOptions) withDefaults() (RotateOptions, error) {
	if o.MaxSize < 0 || o.MaxFiles < 0 {
		return o, fmt.Errorf("invalid rotate options: max-size %d, max-file %d", o.MaxSize, o.MaxFiles)
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o, nil
}

// ParseRotateOptions reads max-size and max-file from a service's compose logging.options
// as Docker's json-file driver does: max-size is a positive number with an optional unit k,
// m, g, t or p (decimal: 1k = 1000 bytes; "kb" and "b" suffixes and any case are accepted;
// "ki"/"kib" are binary, 1024), max-file a positive integer. Other keys are ignored here:
// UnsupportedOptions lists them so that the caller can warn.
func ParseRotateOptions(opts map[string]string) (RotateOptions, error) {
	o := RotateOptions{MaxSize: DefaultMaxSize, MaxFiles: DefaultMaxFiles}
	if v, ok := opts[OptMaxSize]; ok {
		size, err := parseSize(v)
		if err != nil {
			return o, fmt.Errorf("logging option %s %q: %w", OptMaxSize, v, err)
		}
		o.MaxSize = size
	}
	if v, ok := opts[OptMaxFile]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return o, fmt.Errorf("logging option %s %q: want a whole number of files, at least 1", OptMaxFile, v)
		}
		o.MaxFiles = n
	}
	return o, nil
}

// UnsupportedOptions returns the keys of opts that ParseRotateOptions ignores, sorted.
func UnsupportedOptions(opts map[string]string) []string {
	var keys []string
	for k := range opts {
		if k != OptMaxSize && k != OptMaxFile {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// sizeUnits maps a unit letter to its power of 1000 (or of 1024 with an "i").
var sizeUnits = map[byte]int{'k': 1, 'm': 2, 'g': 3, 't': 4, 'p': 5}

// parseSize parses a size such as "10m", "1.5g", "100k", "2048" or "10 MB" in bytes, with
// the units of Docker's json-file max-size. It must be positive.
func parseSize(s string) (int64, error) {
	num, unit := splitSize(strings.TrimSpace(s))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || strings.ContainsAny(num, "eEnNxX+-_") {
		return 0, fmt.Errorf("want a size such as 10m, 1g or 500k")
	}
	mul, err := unitMultiplier(unit)
	if err != nil {
		return 0, err
	}
	v *= mul
	if v < 1 || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size out of range: want at least 1 byte and at most 4 EB")
	}
	return int64(v), nil
}

// splitSize cuts s after its last digit or dot; one space may separate number and unit.
func splitSize(s string) (num, unit string) {
	i := strings.LastIndexAny(s, "0123456789.")
	num, unit = s[:i+1], s[i+1:]
	return num, strings.TrimPrefix(unit, " ")
}

func unitMultiplier(unit string) (float64, error) {
	u := strings.ToLower(unit)
	if u == "" || u == "b" {
		return 1, nil
	}
	exp, ok := sizeUnits[u[0]]
	base := 0.0
	switch rest := u[1:]; {
	case !ok:
	case rest == "" || rest == "b":
		base = 1000
	case rest == "i" || rest == "ib":
		// Docker takes "kib" as decimal too; whoever writes KiB means 1024.
		base = 1024
	}
	if base == 0 {
		return 0, fmt.Errorf("unknown unit %q: use k, m or g", unit)
	}
	mul := 1.0
	for range exp {
		mul *= base
	}
	return mul, nil
}
