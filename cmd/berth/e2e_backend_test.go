package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

const backendUpgradeStack = `
name: upg
services:
  web:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    ports: ["127.0.0.1::80"]
  app:
    image: berth-test/busybox:1
    command: ` + webCommand + `
`

// backendUpgradeStackGrown adds a network, which the new berth makes natively, with a
// service on both networks and one on the new network only.
const backendUpgradeStackGrown = backendUpgradeStack + `
  late:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [default, extra]
  solo:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [extra]
networks:
  extra: {}
`

// TestE2ENetworkBackendUpgrade is a project brought up by berth before the native
// backend (the CNI plugins, state without backends) and then handled by this one: it
// is listed, a no-op up keeps it, it grows a native network, and down removes all of
// it.
func TestE2ENetworkBackendUpgrade(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", backendUpgradeStack)
	e.mustBerth("--network-backend", "cni", "up", "-d")
	root := filepath.Join(e.dataRoot, e.namespace, "networks")
	// what the berth before backends wrote: the same state without them
	for _, f := range append(glob(t, root, "*.json"), glob(t, filepath.Join(root, "attachments"), "*.json")...) {
		stripBackend(t, f)
	}
	if nat := iptablesSave(t, "nat"); !strings.Contains(nat, `id: \"upg-app-1\"`) {
		t.Fatalf("no CNI rule of upg-app-1 in the nat table: the project was not set up by the plugins:\n%s", nat)
	}
	rows := psJSON(t, e)
	if len(rows) != 2 || rows[0].State != "running" || rows[1].State != "running" {
		t.Fatalf("ps after the upgrade: %+v", rows)
	}
	if out := e.mustBerth("network", "ls").stdout; !strings.Contains(out, "upg_default") {
		t.Errorf("network ls lacks upg_default:\n%s", out)
	}

	r := e.mustBerth("up", "-d")
	if strings.Contains(r.stderr, "Recreate") || strings.Contains(r.stderr, "Creat") {
		t.Errorf("no-op up after the upgrade changed something:\n%s", r.stderr)
	}
	for i, row := range psJSON(t, e) {
		if row.ID != rows[i].ID || row.CreatedAt != rows[i].CreatedAt {
			t.Errorf("%s: was %s created %s, now %s created %s", row.Name, rows[i].ID, rows[i].CreatedAt, row.ID, row.CreatedAt)
		}
	}
	ports := publishedPorts(t, e)
	if len(ports) != 1 {
		t.Fatalf("web publishes %v", ports)
	}
	if body, err := httpGet("http://127.0.0.1:" + ports[0].port + "/"); err != nil || !strings.Contains(body, "upg-web-1") {
		t.Errorf("web's published port after the upgrade: %q, %v", body, err)
	}
	if !e.reach("app", "web") {
		t.Error("app does not reach web by name after the upgrade")
	}

	e.writeFile("compose.yaml", backendUpgradeStackGrown)
	e.mustBerth("up", "-d")
	for file, want := range map[string]string{
		"upg_extra.json":              "native", // a new network: the default backend
		"upg_default.json":            "",       // as it was
		"attachments/upg-late-1.json": "cni",    // on a CNI network too: the plugins
		"attachments/upg-solo-1.json": "native",
		"attachments/upg-web-1.json":  "",
		"attachments/upg-app-1.json":  "",
	} {
		if got := backendOf(t, filepath.Join(root, file)); got != want {
			t.Errorf("%s: backend %q, want %q", file, got, want)
		}
	}
	if !e.reach("late", "web") {
		t.Error("late does not reach web on the CNI network")
	}
	if !e.reach("solo", "late") {
		t.Error("solo does not reach late on the native network")
	}
	if e.reach("solo", "web") {
		t.Error("solo reaches web although they share no network")
	}

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func glob(t *testing.T, dir, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// stripBackend rewrites a state file without its "backend" keys, at any depth.
func stripBackend(t *testing.T, path string) {
	t.Helper()
	var v any
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "backend")
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	if data, err = json.Marshal(v); err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func backendOf(t *testing.T, path string) string {
	t.Helper()
	var v struct {
		Backend string `json:"backend"`
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.Backend
}

func iptablesSave(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", table).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
