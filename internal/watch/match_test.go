package watch

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMatcher(t *testing.T) {
	ctx := t.TempDir()
	write(t, filepath.Join(ctx, ".dockerignore"), "**/*.log\ntmp/\n")
	di, err := dockerignore(&Build{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(ctx, "static")
	tests := []struct {
		name string
		rule Rule
		path string
		want bool
	}{
		{"a file under the path", Rule{Path: static}, "static/site.css", true},
		{"a file outside the path", Rule{Path: static}, "main.go", false},
		{"a sibling with the path as prefix", Rule{Path: static}, "static2/a.css", false},
		{"ignored by the rule, relative to its path", Rule{Path: static, Ignore: []string{"drafts/"}}, "static/drafts/a.html", false},
		{"rule ignore is not relative to the context", Rule{Path: static, Ignore: []string{"static/"}}, "static/a.html", true},
		{"ignore with a leading slash is the rule's path", Rule{Path: static, Ignore: []string{"/cache"}}, "static/cache/x", false},
		{"ignore then re-include", Rule{Path: static, Ignore: []string{"*.map", "!keep.map"}}, "static/keep.map", true},
		{"ignore then re-include, others stay out", Rule{Path: static, Ignore: []string{"*.map", "!keep.map"}}, "static/app.map", false},
		{"include picks", Rule{Path: static, Include: []string{"*.css"}}, "static/site.css", true},
		{"include leaves the rest out", Rule{Path: static, Include: []string{"*.css"}}, "static/site.js", false},
		{"include ** crosses directories", Rule{Path: static, Include: []string{"**/*.css"}}, "static/css/site.css", true},
		{"include then ignore", Rule{Path: static, Include: []string{"*.css"}, Ignore: []string{"print.css"}}, "static/print.css", false},
		{".dockerignore applies to the rule", Rule{Path: static}, "static/debug.log", false},
		{".dockerignore is relative to the context", Rule{Path: static}, "static/tmp/x", true},
		{".dockerignore patterns are anchored at the context", Rule{Path: ctx, Ignore: []string{"*.tmp"}}, "static/x.tmp", true},
		{".dockerignore directory", Rule{Path: ctx}, "tmp/x", false},
		{".git is always ignored", Rule{Path: ctx}, ".git/HEAD", false},
		{".git deep down too", Rule{Path: ctx}, "static/vendor/.git/index", false},
		{"a .gitignore is a file like any other", Rule{Path: ctx}, ".gitignore", true},
		{"vim swap", Rule{Path: ctx}, "static/.index.html.swp", false},
		{"vim 4913", Rule{Path: ctx}, "static/4913", false},
		{"backup~", Rule{Path: ctx}, "main.go~", false},
		{"emacs lock", Rule{Path: ctx}, ".#main.go", false},
		{"emacs autosave", Rule{Path: ctx}, "#main.go#", false},
		{"goland", Rule{Path: ctx}, "main.go___jb_tmp___", false},
		{"kate", Rule{Path: ctx}, ".main.go.kate-swp", false},
		{".idea", Rule{Path: ctx}, ".idea/workspace.xml", false},
		{"the go command's probe", Rule{Path: ctx}, "x-go-tmp-umask", false},
		{"a file rule matches its file", Rule{Path: filepath.Join(ctx, "conf.yaml")}, "conf.yaml", true},
		{"a file rule ignores its siblings", Rule{Path: filepath.Join(ctx, "conf.yaml")}, "conf.yml", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newMatcher(tt.rule, di, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.matches(filepath.Join(ctx, tt.path)); got != tt.want {
				t.Errorf("matches(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestMatcherSkipsDir(t *testing.T) {
	ctx := t.TempDir()
	write(t, filepath.Join(ctx, ".dockerignore"), "node_modules\nbuild/\n!build/keep\n")
	di, err := dockerignore(&Build{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ignore []string
		dir    string
		want   bool
	}{
		{"an ordinary directory", nil, "src", false},
		{".git", nil, ".git", true},
		{"ignored by .dockerignore", nil, "node_modules", true},
		{"ignored, but an exclusion may bring something back", nil, "build", false},
		{"an exclusion elsewhere does not count", nil, "node_modules/x", true},
		{"ignored by the rule", []string{"cache/"}, "cache", true},
		{"the rule's ignore has exclusions", []string{"cache/", "!cache/keep"}, "cache", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newMatcher(Rule{Path: ctx, Ignore: tt.ignore}, di, ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.skipsDir(filepath.Join(ctx, tt.dir)); got != tt.want {
				t.Errorf("skipsDir(%s) = %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
}

func TestDockerignoreFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		build   Build
		ignored []string
		kept    []string
	}{
		{
			name:    "the context's .dockerignore",
			files:   map[string]string{".dockerignore": "*.md\n"},
			ignored: []string{"README.md"}, kept: []string{"main.go"},
		},
		{
			name:    "the Dockerfile's own ignore file wins",
			files:   map[string]string{".dockerignore": "*.md\n", "Dockerfile.dockerignore": "*.go\n"},
			ignored: []string{"main.go"}, kept: []string{"README.md"},
		},
		{
			name:    "a Dockerfile in a subdirectory",
			files:   map[string]string{"build/web.Dockerfile.dockerignore": "*.txt\n"},
			build:   Build{Dockerfile: "build/web.Dockerfile"},
			ignored: []string{"a.txt"}, kept: []string{"a.go"},
		},
		{
			// Docker Compose drops a bare "*": an allow-list .dockerignore
			// does not silence the rules
			name:    "an allow-list keeps its exclusions only",
			files:   map[string]string{".dockerignore": "*\n!.bin/app\n"},
			ignored: nil, kept: []string{"main.go", ".bin/app"},
		},
		{
			name:    "comments and blank lines",
			files:   map[string]string{".dockerignore": "# build output\n\n/dist\n"},
			ignored: []string{"dist/app.js"}, kept: []string{"src/dist/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.TempDir()
			for name, content := range tt.files {
				write(t, filepath.Join(ctx, name), content)
			}
			b := tt.build
			b.Context = ctx
			di, err := dockerignore(&b)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.ignored {
				if !di.match(p) {
					t.Errorf("%s travels; want it ignored", p)
				}
			}
			for _, p := range tt.kept {
				if di.match(p) {
					t.Errorf("%s is ignored; want it kept", p)
				}
			}
		})
	}
}

func TestDockerignoreNoBuild(t *testing.T) {
	di, err := dockerignore(nil)
	if err != nil || di != nil {
		t.Fatalf("dockerignore(nil) = %v, %v; want no patterns", di, err)
	}
	if di.match("anything") {
		t.Fatal("nil patterns matched")
	}
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
