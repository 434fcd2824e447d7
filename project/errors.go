package project

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/tree"
	"gopkg.in/yaml.v3"
)

// Error is a mistake in a Compose file, located as precisely as berth can:
// the file, the line, and the dotted path of the field.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// lazyRegexp compiles expr on its first use.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// The patterns that read compose-go's messages are compiled on the first error:
// compiled at init, they cost every command ≈ 0.4 ms.
var (
	reValidating   = lazyRegexp(`^validating (.+?): (.*)$`)
	reAdditional   = lazyRegexp(`^(\S*) additional propert(?:y|ies) (.+) not allowed$`)
	reFalseSchema  = lazyRegexp(`^(\S+) false schema$`)
	rePathMsg      = lazyRegexp(`^(\S+) (must .*|does not .*|is .*)$`)
	reInterpolate  = lazyRegexp(`^error while interpolating (\S+): (.*)$`)
	reYAML         = lazyRegexp(`(?s)^(?:failed to parse (.+?): )?yaml: (.*)$`)
	reColons       = lazyRegexp(`:[: ]*`)
	reYAMLLine     = lazyRegexp(`(?: at)? line (\d+)(?:, column \d+)?:`)
	reUndefinedRef = lazyRegexp(`^service "([^"]+)" refers to undefined (network|volume|secret|config) "?([^": ]+)"?`)
	reDecoding     = lazyRegexp(`'([^']+)' (.*)`)
	reUndefinedDep = lazyRegexp(`^service "([^"]+)" depends on undefined service "([^"]+)"`)
	reIndex        = lazyRegexp(`\[([^\]]+)\]`)
)

// explain turns compose-go's errors into Errors that name the file, the line
// and the field, and suggest the key a typo meant. Errors it cannot place
// are returned as they are.
func explain(po *cli.ProjectOptions, err error) error {
	if err == nil {
		return nil
	}
	var files []string
	if po != nil {
		files = po.ConfigPaths
	}
	msg := err.Error()
	switch {
	case reValidating().MatchString(msg):
		m := reValidating().FindStringSubmatch(msg)
		return schemaError(m[1], m[2], err)
	case reYAML().MatchString(msg):
		return yamlError(files, reYAML().FindStringSubmatch(msg), err)
	case reInterpolate().MatchString(msg):
		m := reInterpolate().FindStringSubmatch(msg)
		return locate(files, &Error{Path: m[1], Msg: m[2], Err: err})
	case strings.HasPrefix(msg, "decoding failed"):
		if m := reDecoding().FindStringSubmatch(msg); m != nil {
			path := reIndex().ReplaceAllString(m[1], ".$1")
			return locate(files, &Error{Path: path, Msg: m[2], Err: err})
		}
	case reUndefinedDep().MatchString(msg):
		m := reUndefinedDep().FindStringSubmatch(msg)
		return locate(files, &Error{
			Path: "services." + m[1] + ".depends_on",
			Msg:  fmt.Sprintf("service %q depends on undefined service %q", m[1], m[2]),
			Err:  err,
		})
	case strings.HasPrefix(msg, "dependency cycle detected"):
		return locate(files, &Error{Msg: msg, Err: err})
	case reUndefinedRef().MatchString(msg):
		m := reUndefinedRef().FindStringSubmatch(msg)
		return locate(files, &Error{
			Path: "services." + m[1] + "." + m[2] + "s",
			Msg:  fmt.Sprintf("service %q refers to undefined %s %q", m[1], m[2], m[3]),
			Err:  err,
		})
	case strings.HasPrefix(msg, "invalid "):
		return locatePortError(files, err)
	}
	return err
}

// schemaError explains a JSON-schema failure of one file.
func schemaError(file, msg string, err error) error {
	e := &Error{File: file, Msg: msg, Err: err}
	switch {
	case reAdditional().MatchString(msg):
		m := reAdditional().FindStringSubmatch(msg)
		key := strings.Trim(strings.SplitN(m[2], ",", 2)[0], "' ")
		unknownKey(e, m[1], key)
	case reFalseSchema().MatchString(msg):
		path := reFalseSchema().FindStringSubmatch(msg)[1]
		parent, key := splitPath(path)
		unknownKey(e, parent, key)
	case rePathMsg().MatchString(msg):
		m := rePathMsg().FindStringSubmatch(msg)
		e.Path, e.Msg = m[1], strings.Replace(m[2], "must be a a", "must be an a", 1)
	}
	e.Line = lineOf(file, e.Path)
	return e
}

func unknownKey(e *Error, parent, key string) {
	e.Path = joinPath(parent, key)
	e.Msg = "unknown key"
	if s := suggestKey(parent, key); s != "" {
		e.Msg += fmt.Sprintf("; did you mean %q?", s)
	}
}

// yamlError names the file that does not parse and the line of the
// problem: yaml reports the enclosing construct first and the faulty spot
// last, so the last line it mentions is the one to show.
func yamlError(files []string, m []string, err error) error {
	e := &Error{File: m[1], Err: err}
	if e.File == "" {
		e.File = unparsableFile(files)
	}
	what := strings.Join(strings.Fields(m[2]), " ")
	if all := reYAMLLine().FindAllStringSubmatch(what, -1); all != nil {
		e.Line, _ = strconv.Atoi(all[len(all)-1][1])
		what = reYAMLLine().ReplaceAllString(what, ":")
		what = strings.Trim(reColons().ReplaceAllString(what, ": "), ": ")
		what = strings.TrimPrefix(what, "construct errors: ")
	}
	e.Msg = "invalid YAML: " + what
	if lineHasTab(e.File, e.Line) {
		e.Msg += " (the line is indented with a tab: YAML needs spaces)"
	}
	return e
}

func lineHasTab(file string, line int) bool {
	content, err := os.ReadFile(file)
	if err != nil || line < 1 {
		return false
	}
	lines := strings.Split(string(content), "\n")
	return line <= len(lines) && strings.HasPrefix(strings.TrimLeft(lines[line-1], " "), "\t")
}

// unparsableFile finds which of the files yaml rejects: compose-go reads the
// project name from every file before it says which one failed.
func unparsableFile(files []string) string {
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var v any
		if yaml.Unmarshal(content, &v) != nil {
			return f
		}
	}
	return ""
}

// locate finds the file (the last one, as overrides win) and line where the
// error's path is written.
func locate(files []string, e *Error) error {
	for i := len(files) - 1; i >= 0; i-- {
		if line := lineOf(files[i], e.Path); line > 0 {
			e.File, e.Line = files[i], line
			return e
		}
	}
	if len(files) == 1 && files[0] != "-" {
		e.File = files[0]
	}
	return e
}

// lineOf returns the line of the deepest node of path that file contains,
// or 0.
func lineOf(file, path string) int {
	if file == "" || file == "-" || path == "" {
		return 0
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var doc yaml.Node
	if yaml.Unmarshal(content, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	node, line := doc.Content[0], 0
	for _, part := range strings.Split(path, ".") {
		next, keyLine := child(node, part)
		if next == nil {
			break
		}
		node, line = next, keyLine
	}
	return line
}

// child steps into a mapping key or a sequence index, following aliases.
func child(node *yaml.Node, part string) (*yaml.Node, int) {
	for node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	switch node.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == part {
				return node.Content[i+1], node.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(node.Content) {
			return node.Content[i], node.Content[i].Line
		}
	}
	return nil, 0
}

// suggestKey returns the valid key under parent nearest to key, or "".
func suggestKey(parent, key string) string {
	parentParts := splitParts(parent)
	best, bestDist := "", len(key)/2+2
	for _, p := range schema.AttributePaths() {
		parts := p.Parts()
		if len(parts) != len(parentParts)+1 || !partsMatch(parentParts, parts) {
			continue
		}
		candidate := parts[len(parts)-1]
		if candidate == tree.PathMatchAll || candidate == tree.PathMatchList {
			continue
		}
		if d := distance(key, candidate); d < bestDist {
			best, bestDist = candidate, d
		}
	}
	return best
}

func partsMatch(instance, pattern []string) bool {
	for i, part := range instance {
		switch pattern[i] {
		case tree.PathMatchAll, part:
		case tree.PathMatchList:
			if _, err := strconv.Atoi(part); err != nil {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance,
// so transpositions such as "prots" count as one edit.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func splitParts(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, ".")
}

func splitPath(path string) (parent, last string) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// IsUserError reports whether err is a mistake in the project's files (as
// opposed to a failure of the machine), for exit codes and messages.
func IsUserError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
