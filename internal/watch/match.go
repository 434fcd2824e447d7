package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// patterns is a list of .dockerignore-style patterns matched against paths
// relative to a base directory. A nil *patterns matches nothing.
type patterns struct {
	// patternmatcher compiles lazily and is not safe for concurrent use
	mu sync.Mutex
	pm *patternmatcher.PatternMatcher
}

// newPatterns reads patterns the way .dockerignore lines are read: a
// leading "/" is the base directory itself.
func newPatterns(list []string) (*patterns, error) {
	var cleaned []string
	for _, p := range list {
		p = strings.TrimSpace(p)
		exclusion := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		p = strings.TrimPrefix(filepath.Clean("/"+p), "/")
		if p == "" {
			continue
		}
		if exclusion {
			p = "!" + p
		}
		cleaned = append(cleaned, p)
	}
	if len(cleaned) == 0 {
		return nil, nil
	}
	for _, p := range cleaned {
		if _, err := filepath.Match(strings.TrimPrefix(p, "!"), "x"); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	pm, err := patternmatcher.New(cleaned)
	if err != nil {
		return nil, err
	}
	return &patterns{pm: pm}, nil
}

// match tells whether rel (relative to the base, slash-separated) or one
// of its parents matches, after the exclusions ("!") are applied.
func (p *patterns) match(rel string) bool {
	if p == nil || rel == "." {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ok, err := p.pm.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// matchesWholeDir tells whether rel and everything under it match, so a
// directory need not be watched at all: only when no exclusion could bring
// something under it back.
func (p *patterns) matchesWholeDir(rel string) bool {
	if p == nil || !p.match(rel) {
		return false
	}
	for _, pat := range p.pm.Patterns() {
		if pat.Exclusion() && mayReach(filepath.ToSlash(pat.String()), rel) {
			return false
		}
	}
	return true
}

// mayReach tells whether pattern could match dir, a parent of it or
// something under it: it cannot once one of its literal elements differs
// from dir's.
func mayReach(pattern, dir string) bool {
	pe, de := strings.Split(pattern, "/"), strings.Split(dir, "/")
	for i := 0; i < len(pe) && i < len(de); i++ {
		if strings.ContainsAny(pe[i], `*?[\`) {
			return true
		}
		if pe[i] != de[i] {
			return false
		}
	}
	return true
}

// dockerignore reads the patterns that keep files out of the build
// context: <Dockerfile>.dockerignore if present, else .dockerignore.
//
// Like Docker Compose, a bare "*" line is dropped: an allow-list
// .dockerignore ("*" then "!src") would otherwise silence every rule whose
// path the build does not use, which is not what anyone means by it.
func dockerignore(b *Build) (*patterns, error) {
	if b == nil {
		return nil, nil
	}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(b.Context, dockerfile)
	}
	var lines []string
	for _, name := range []string{dockerfile + ".dockerignore", filepath.Join(b.Context, ".dockerignore")} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lines, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if slices.Contains(lines, "*") {
			lines = slices.DeleteFunc(lines, func(l string) bool { return !strings.HasPrefix(l, "!") })
		}
		ps, err := newPatterns(lines)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return ps, nil
	}
	return nil, nil
}

// editorFiles are the names editors and tools write beside the files they
// save (Docker Compose's list: GoLand, Emacs, Vim, Kate, the go command).
var editorFiles = []string{
	"*___jb_old___", "*___jb_tmp___", // GoLand
	".#*", "#*#", // Emacs
	"4913", "*~", ".*.swp", ".*.swx", ".*.swo", ".*.swn", // Vim
	".*.kate-swp",    // Kate
	"*-go-tmp-umask", // the go command's umask probe
}

// alwaysIgnoredDirs are directories whose content never travels.
var alwaysIgnoredDirs = []string{".git", ".idea"}

// alwaysIgnored tells whether a path relative to a rule's path is a VCS or
// editor file that no rule ever acts on.
func alwaysIgnored(rel string) bool {
	if rel == "." {
		return false
	}
	elems := strings.Split(rel, "/")
	for _, e := range elems {
		if slices.Contains(alwaysIgnoredDirs, e) {
			return true
		}
	}
	base := elems[len(elems)-1]
	for _, pattern := range editorFiles {
		if ok, _ := path.Match(pattern, base); ok {
			return true
		}
	}
	return false
}

// matcher decides which changes under one rule's path count.
type matcher struct {
	rule    Rule
	include *patterns // nil: everything
	ignore  *patterns
	// dockerignore is relative to context (empty: no build context).
	dockerignore *patterns
	context      string
}

func newMatcher(r Rule, di *patterns, context string) (*matcher, error) {
	include, err := newPatterns(r.Include)
	if err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	ignore, err := newPatterns(r.Ignore)
	if err != nil {
		return nil, fmt.Errorf("ignore: %w", err)
	}
	return &matcher{rule: r, include: include, ignore: ignore, dockerignore: di, context: context}, nil
}

// matches tells whether a change of the absolute host path p concerns the
// rule.
func (m *matcher) matches(p string) bool {
	if !within(m.rule.Path, p) {
		return false
	}
	rel := relSlash(m.rule.Path, p)
	if alwaysIgnored(rel) || m.ignore.match(rel) {
		return false
	}
	if m.include != nil && rel != "." && !m.include.match(rel) {
		return false
	}
	if m.dockerignore != nil && within(m.context, p) && m.dockerignore.match(relSlash(m.context, p)) {
		return false
	}
	return true
}

// skipsDir tells whether nothing under directory p can concern the rule,
// so it need not be watched or walked.
func (m *matcher) skipsDir(p string) bool {
	if !within(m.rule.Path, p) {
		return true
	}
	rel := relSlash(m.rule.Path, p)
	if rel == "." {
		return false
	}
	if alwaysIgnored(rel) || m.ignore.matchesWholeDir(rel) {
		return true
	}
	return m.dockerignore != nil && within(m.context, p) && m.dockerignore.matchesWholeDir(relSlash(m.context, p))
}

// relSlash is p relative to base, slash-separated; p must be within base.
func relSlash(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return "."
	}
	return filepath.ToSlash(rel)
}
