package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRawEnvFile loads an env_file with format: raw as Docker Compose does:
// values as written, quotes and dollars included.
func TestRawEnvFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".env.raw", "# comment\nJSON='{\"key\": \"value\"}'\n  PRICE=$5 \nFROM_HOST\nUNSET\n")
	write(t, dir, "compose.yaml", "services:\n  web:\n    image: x\n    env_file:\n      - path: .env.raw\n        format: raw\n")
	p, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{filepath.Join(dir, "compose.yaml")}, Environ: []string{"FROM_HOST=h"}})
	if err != nil {
		t.Fatal(err)
	}
	env := p.Services["web"].Environment
	want := map[string]string{"JSON": `'{"key": "value"}'`, "PRICE": "$5 ", "FROM_HOST": "h"}
	for k, v := range want {
		if env[k] == nil || *env[k] != v {
			t.Errorf("%s = %v, want %q", k, env[k], v)
		}
	}
	if _, ok := env["UNSET"]; ok {
		t.Errorf("UNSET is set: %v", env["UNSET"])
	}
}

func TestRawEnvFileRefusesWhitespaceInNames(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".env.raw", "MY VAR=1\n")
	write(t, dir, "compose.yaml", "services:\n  web:\n    image: x\n    env_file:\n      - path: .env.raw\n        format: raw\n")
	_, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{filepath.Join(dir, "compose.yaml")}, Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), `line 1: variable "MY VAR" contains whitespace`) {
		t.Fatalf("got %v", err)
	}
}

func TestCheckContainerNames(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "compose.yaml", "services:\n  a:\n    image: x\n    container_name: same\n  b:\n    image: x\n    container_name: same\n  c:\n    image: x\n")
	p, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	err = CheckContainerNames(p)
	want := file + `:7: services.b.container_name: container name "same" is already in use by service "a": container_name must be unique`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	delete(p.Services, "b")
	if err := CheckContainerNames(p); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEnvFileOfUnselectedService: a missing env_file matters only to the
// services that are loaded, as in Docker Compose (`up -d a`).
func TestEnvFileOfUnselectedService(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "compose.yaml", "services:\n  a:\n    image: x\n    env_file: [a.env]\n  b:\n    image: x\n    env_file: [missing.env]\n")
	write(t, dir, "a.env", "FROM_A=1\n")
	p, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Services: []string{"a"}, Environ: []string{}})
	if err != nil {
		t.Fatalf("load of a: %v", err)
	}
	if v := p.Services["a"].Environment["FROM_A"]; v == nil || *v != "1" || len(p.Services["a"].EnvFiles) != 0 {
		t.Errorf("a's env_file not merged: %v %v", p.Services["a"].Environment, p.Services["a"].EnvFiles)
	}
	if _, err := Load(t.Context(), LoadOptions{ConfigPaths: []string{file}, Environ: []string{}}); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("load of every service: %v", err)
	}
}
