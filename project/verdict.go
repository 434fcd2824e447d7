package project

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/schema"
)

// compose-go checks every file against the Compose schema in every process:
// compiling the schema and validating cost ≈ 10 ms of a 40 ms no-op up. The
// verdict is a function of the files' bytes, the environment they are
// interpolated with and compose-go's own code, so berth remembers the inputs
// it saw pass and lets compose-go skip the schema for them. An input that
// failed is never remembered: its error comes from compose-go each time.
//
// Only what the hash covers may decide the verdict, so files that pull in
// others (include, extends) are not remembered, nor files that may carry the
// obsolete version attribute, whose warning and removal compose-go ties to
// validation. The words are looked for anywhere in the bytes: a false match
// costs only the skip.

// verdictMaxEntries bounds the remembered inputs; the oldest half goes beyond it.
const verdictMaxEntries = 512

// verdictDir is where the verdicts are kept: a tmpfs berth owns (root) or the
// user's runtime directory; "" remembers nothing.
var verdictDir = defaultVerdictDir()

func defaultVerdictDir() string {
	if os.Geteuid() == 0 {
		return "/run/berth/validated"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "berth", "validated")
	}
	return ""
}

// verdict is the remembered answer for one load's inputs.
type verdict struct {
	path string // "" when the inputs may not be remembered
}

// verdictFor hashes what the schema's verdict depends on for po's files.
func verdictFor(po *cli.ProjectOptions, opts LoadOptions) verdict {
	if verdictDir == "" || len(po.ConfigPaths) == 0 {
		return verdict{}
	}
	h := sha256.New()
	field := func(b []byte) { // length first: no two inputs hash alike
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte("berth schema verdict 1"))
	field([]byte(composeGoVersion()))
	field(schemaDigest())
	field([]byte(po.WorkingDir))
	field([]byte(po.Name))
	if opts.NoInterpolate {
		field([]byte("no-interpolate"))
	}
	var contents [][]byte
	for _, path := range po.ConfigPaths {
		if path == "-" {
			return verdict{}
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return verdict{}
		}
		content, err := os.ReadFile(abs)
		if err != nil || unrememberable(content) {
			return verdict{}
		}
		field([]byte(abs))
		field(content)
		contents = append(contents, content)
	}
	// A variable reaches the files only by a name written in them (COMPOSE_*
	// steer the loader itself): the others (OLDPWD, a terminal's) do not change
	// the verdict, and would otherwise make every shell its own key.
	keys := make([]string, 0, len(po.Environment))
	for k := range po.Environment {
		if strings.HasPrefix(k, "COMPOSE_") || slices.ContainsFunc(contents, func(c []byte) bool { return bytes.Contains(c, []byte(k)) }) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		field([]byte(k))
		field([]byte(po.Environment[k]))
	}
	return verdict{path: filepath.Join(verdictDir, hex.EncodeToString(h.Sum(nil)))}
}

var notRemembered = [][]byte{[]byte("include"), []byte("extends"), []byte("version")}

func unrememberable(content []byte) bool {
	return slices.ContainsFunc(notRemembered, func(word []byte) bool { return bytes.Contains(content, word) })
}

// passed reports whether these inputs passed the schema before.
func (v verdict) passed() bool {
	if v.path == "" {
		return false
	}
	now := time.Now()
	// the time marks it as used: pruning keeps the recent ones
	return os.Chtimes(v.path, now, now) == nil
}

// remember records that the inputs passed. It is best effort: a verdict not
// written costs the next load its validation, nothing more.
func (v verdict) remember() {
	if v.path == "" {
		return
	}
	dir := filepath.Dir(v.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	if err := os.WriteFile(v.path, nil, 0o600); err != nil {
		return
	}
	pruneVerdicts(dir)
}

// pruneVerdicts removes the older half of the verdicts once there are too many.
func pruneVerdicts(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= verdictMaxEntries {
		return
	}
	type aged struct {
		name string
		mod  time.Time
	}
	all := make([]aged, 0, len(entries))
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), info.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.Before(all[j].mod) })
	for _, a := range all[:len(all)/2] {
		_ = os.Remove(filepath.Join(dir, a.name))
	}
}

// composeGoVersion names the compose-go whose validation a verdict is of; a
// development build without module information counts as its own version.
var composeGoVersion = sync.OnceValue(func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/compose-spec/compose-go/v2" {
				if m.Replace != nil {
					m = m.Replace
				}
				return m.Path + "@" + m.Version + " " + m.Sum
			}
		}
	}
	return "unknown"
})

var schemaDigest = sync.OnceValue(func() []byte {
	sum := sha256.Sum256([]byte(schema.Schema))
	return sum[:]
})
