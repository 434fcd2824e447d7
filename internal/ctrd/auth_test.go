package ctrd

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDockerCredentialsLookup(t *testing.T) {
	config := `{
	  "auths": {
	    "https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hub:pass") + `"},
	    "127.0.0.1:5000": {"username": "alice", "password": "s3cret"},
	    "https://registry.example.com/v2/": {"auth": "` + b64("bob:pw") + `"},
	    "http://plain.example.com:8080": {"auth": "` + b64("carol:pw2") + `"},
	    "token.example.com": {"auth": "` + b64("ignored:ignored") + `", "identitytoken": "refresh-xyz"}
	  },
	  "credsStore": "desktop"
	}`
	creds, err := parseDockerCredentials([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ host, user, secret string }{
		{"registry-1.docker.io", "hubuser", "hub:pass"},
		{"docker.io", "hubuser", "hub:pass"},
		{"127.0.0.1:5000", "alice", "s3cret"},
		{"registry.example.com", "bob", "pw"},
		{"plain.example.com:8080", "carol", "pw2"},
		{"token.example.com", "", "refresh-xyz"},
		{"unknown.example.com", "", ""},
		{"127.0.0.1:5001", "", ""},
	}
	for _, tt := range tests {
		user, secret, err := creds.lookup(tt.host)
		if err != nil || user != tt.user || secret != tt.secret {
			t.Errorf("lookup(%q) = %q, %q, %v; want %q, %q", tt.host, user, secret, err, tt.user, tt.secret)
		}
	}
}

func TestParseDockerCredentialsErrors(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"auths": `, "parse json"},
		{`{"auths": {"r.io": {"auth": "%%%"}}}`, `decode auth for "r.io"`},
		{`{"auths": {"r.io": {"auth": "` + b64("nocolon") + `"}}}`, "want base64 of user:password"},
	}
	for _, tt := range tests {
		_, err := parseDockerCredentials([]byte(tt.config))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse %s: error %v, want one containing %q", tt.config, err, tt.want)
		}
	}
	if creds, err := parseDockerCredentials([]byte(`{}`)); err != nil || len(creds) != 0 {
		t.Errorf("empty config: %v, %v", creds, err)
	}
}

func TestReadDockerCredentials(t *testing.T) {
	dir := t.TempDir()
	creds, err := readDockerCredentials(filepath.Join(dir, "missing.json"))
	if err != nil || len(creds) != 0 {
		t.Fatalf("missing file: %v, %v; want no credentials and no error", creds, err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"auths": {"r.io": {"username": "u", "password": "p"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	if got := dockerConfigPath(""); got != path {
		t.Errorf("dockerConfigPath with $DOCKER_CONFIG = %q, want %q", got, path)
	}
	if got := dockerConfigPath("/x"); got != "/x/config.json" {
		t.Errorf("dockerConfigPath(/x) = %q", got)
	}
	creds, err = readDockerCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if u, p, _ := creds.lookup("r.io"); u != "u" || p != "p" {
		t.Errorf("lookup(r.io) = %q, %q", u, p)
	}
	if err := os.WriteFile(path, []byte(`not json`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readDockerCredentials(path); err == nil || !strings.HasPrefix(err.Error(), "read docker config "+path+": parse json") {
		t.Errorf("bad file: error %v", err)
	}
}
