package project

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

func init() {
	// env_file's format: raw, which Docker Compose registers the same way:
	// docker run --env-file's parser, no quotes, no interpolation
	dotenv.RegisterFormat("raw", parseRawEnv)
}

// parseRawEnv reads KEY=VALUE lines as `docker run --env-file` does: the
// value is everything after the first "=", quotes and "$" included; a line
// with only a KEY takes the variable from the lookup, if it is set.
func parseRawEnv(r io.Reader, filename string, vars map[string]string, lookup func(string) (string, bool)) error {
	scanner := bufio.NewScanner(r)
	for n := 1; scanner.Scan(); n++ {
		b := scanner.Bytes()
		if !utf8.Valid(b) {
			return fmt.Errorf("env file %s: line %d is not valid UTF-8", filename, n)
		}
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		switch {
		case key == "":
			return fmt.Errorf("env file %s: line %d: no variable name", filename, n)
		case strings.ContainsAny(key, " \t"):
			return fmt.Errorf("env file %s: line %d: variable %q contains whitespace", filename, n, key)
		case hasValue:
			vars[key] = value
		case lookup != nil:
			if v, ok := lookup(key); ok {
				vars[key] = v
			}
		}
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("env file %s: %w", filename, err)
	}
	return nil
}

// ReadEnvFile reads a dotenv file (run --env-from-file); KEY alone takes
// its value from lookup.
func ReadEnvFile(path string, lookup func(string) (string, bool)) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()
	vars, err := dotenv.ParseWithLookup(f, lookup)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return vars, nil
}
