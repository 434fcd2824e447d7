package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/logs"
)

// shimArgv turns args into argv as containerd's shim does: through the query of the
// binary:// URI (cio.LogURIGenerator), then "key value" pairs in map order.
func shimArgv(t *testing.T, args map[string]string) []string {
	t.Helper()
	u := &url.URL{Scheme: "binary", Path: "/usr/local/lib/berth/berth-logger"}
	q := u.Query()
	for k, v := range args {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	parsed, err := url.Parse(u.String())
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for k, vs := range parsed.Query() {
		argv = append(argv, k, vs[0])
	}
	return argv
}

func TestParseArgsFromShim(t *testing.T) {
	path := "/var/lib/berth/logs/my project/web-1.log" // a space survives the URI
	want := config{path: path, rotate: logs.RotateOptions{MaxSize: 2000, MaxFiles: 4}}
	for range 10 { // map order varies: every order must do
		argv := shimArgv(t, logs.LoggerArgs(path, want.rotate))
		got, err := parseArgs(argv)
		if err != nil || got != want {
			t.Fatalf("parseArgs(%q) = %+v, %v; want %+v", argv, got, err, want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		argv    []string
		want    config
		wantErr string
	}{
		{[]string{"--path", "/l/c.log"}, config{path: "/l/c.log", rotate: logs.RotateOptions{MaxSize: logs.DefaultMaxSize, MaxFiles: logs.DefaultMaxFiles}}, ""},
		{[]string{"--max-size", "1m", "-path", "/l/../l/c.log"}, config{path: "/l/c.log", rotate: logs.RotateOptions{MaxSize: 1_000_000, MaxFiles: 3}}, ""},
		{[]string{"--max-file", "1", "--path", "/l/c.log"}, config{path: "/l/c.log", rotate: logs.RotateOptions{MaxSize: logs.DefaultMaxSize, MaxFiles: 1}}, ""},
		{nil, config{}, "--path must be an absolute path"},
		{[]string{"--path", "c.log"}, config{}, `--path must be an absolute path, got "c.log"`},
		{[]string{"--path", "/l/c.log", "--max-size", "huge"}, config{}, `max-size "huge"`},
		{[]string{"--path", "/l/c.log", "--max-file", "0"}, config{}, `max-file "0"`},
		{[]string{"--path", "/l/c.log", "--colour", "red"}, config{}, "flag provided but not defined"},
		{[]string{"--path", "/l/c.log", "extra"}, config{}, `unexpected "extra"`},
		{[]string{"--path"}, config{}, "needs an argument"},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.argv)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.argv, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseArgs(%q) error = %v, want one containing %q", tt.argv, err, tt.wantErr)
		}
	}
}
