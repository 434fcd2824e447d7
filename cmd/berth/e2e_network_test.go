package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

// web serves its hostname on port 80 with busybox httpd.
const webCommand = `["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; hostname > /www/index.html; httpd -f -p 80 -h /www & wait"]`

const isolationStack = `
name: iso
services:
  front:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [frontend]
    ports:
      - "127.0.0.1::80"
      - "80"
  api:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks:
      frontend:
        aliases: [backend-api]
      backend: {}
  db:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [backend]
  vault:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [private]
networks:
  frontend: {}
  backend: {}
  private:
    internal: true
`

// addrOf returns the service container's IPv4 address on its interface.
func (e *e2e) addrOf(svc, iface string) string {
	e.t.Helper()
	out := e.mustBerth("exec", "-T", svc, "ip", "-4", "-o", "addr", "show", iface).stdout
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			return strings.Split(f[i+1], "/")[0]
		}
	}
	e.t.Fatalf("no address on %s of %s: %q", iface, svc, out)
	return ""
}

// reach says whether svc gets an HTTP answer from target (an address or name).
func (e *e2e) reach(svc, target string) bool {
	r := e.berth("exec", "-T", svc, "timeout", "2", "wget", "-q", "-O-", "http://"+target+"/")
	return r.code == 0
}

func TestE2ENetworkIsolationAndPorts(t *testing.T) {
	// the test host exists before the snapshot: it is the test's, not berth's
	th := testenv.StartTestHost(t)
	e, before := startE2E(t)
	e.writeFile("compose.yaml", isolationStack)
	e.mustBerth("up", "-d")

	apiFront := e.addrOf("api", "eth1") // frontend sorts after backend: eth0 backend, eth1 frontend
	dbAddr := e.addrOf("db", "eth0")
	if !e.reach("front", apiFront) {
		t.Errorf("front cannot reach api on their shared network (%s)", apiFront)
	}
	if e.reach("front", dbAddr) {
		t.Errorf("front reaches db (%s) although they share no network", dbAddr)
	}
	if !e.reach("api", dbAddr) {
		t.Errorf("api cannot reach db on backend (%s)", dbAddr)
	}

	// routes: a normal network has a default route, an internal one none
	if out := e.mustBerth("exec", "-T", "front", "ip", "route").stdout; !strings.Contains(out, "default via") {
		t.Errorf("front has no default route:\n%s", out)
	}
	if out := e.mustBerth("exec", "-T", "vault", "ip", "route").stdout; strings.Contains(out, "default") {
		t.Errorf("internal network has a default route:\n%s", out)
	}

	// published ports: 127.0.0.1 only, and all addresses
	local := strings.TrimSpace(e.mustBerth("port", "front", "80").stdout)
	ports := publishedPorts(t, e)
	if len(ports) != 2 {
		t.Fatalf("front publishes %v", ports)
	}
	for _, p := range ports {
		body, err := httpGet("http://127.0.0.1:" + p.port + "/")
		if err != nil || !strings.Contains(body, "iso-front-1") {
			t.Errorf("published %s:%s from 127.0.0.1: %q %v", p.ip, p.port, body, err)
		}
	}
	for _, p := range ports {
		_, err := th.Get(fmt.Sprintf("http://%s:%s/", th.HostAddr, p.port), 3*time.Second)
		if p.ip == "127.0.0.1" && err == nil {
			t.Errorf("port %s bound to 127.0.0.1 answers from another host", p.port)
		}
		if p.ip != "127.0.0.1" && err != nil {
			t.Errorf("port %s bound to all addresses does not answer from another host: %v", p.port, err)
		}
	}
	if !strings.HasPrefix(local, "127.0.0.1:") && !strings.HasPrefix(local, "0.0.0.0:") {
		t.Errorf("berth port front 80 = %q", local)
	}

	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

type published struct{ ip, port string }

func publishedPorts(t *testing.T, e *e2e) []published {
	t.Helper()
	var out []published
	for _, row := range psJSON(t, e) {
		for _, p := range row.Publishers {
			out = append(out, published{p.URL, fmt.Sprint(p.PublishedPort)})
		}
	}
	return out
}

func psJSON(t *testing.T, e *e2e) []psRow {
	t.Helper()
	r := e.mustBerth("ps", "--format", "json")
	var rows []psRow
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var row psRow
		if err := jsonUnmarshal(l, &row); err != nil {
			t.Fatalf("ps --format json line %q: %v", l, err)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestE2EPortInUse(t *testing.T) {
	e, before := startE2E(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	e.writeFile("compose.yaml", fmt.Sprintf("name: busy\nservices:\n  web:\n    image: berth-test/busybox:1\n    command: %s\n    ports: [\"127.0.0.1:%d:80\"]\n", webCommand, port))
	r := e.berth("up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprint(port)) || !strings.Contains(r.stderr, `service "web"`) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if cs := e.containers(); len(cs) != 0 {
		t.Errorf("a failed up left containers: %v", cs)
	}
	e.mustBerth("down")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestE2ENetworkModeShared: network_mode service: and container: join another
// container's network namespace (container: naming one of the project's own
// waits for its creation without a depends_on); a name that is no container is
// an error that names it.
func TestE2ENetworkModeShared(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", `
name: nsshare
services:
  web:
    image: berth-test/busybox:1
    command: `+webCommand+`
  sidecar:
    image: berth-test/busybox:1
    command: `+idle+`
    network_mode: "service:web"
  byname:
    image: berth-test/busybox:1
    command: `+idle+`
    network_mode: "container:nsshare-web-1"
`)
	e.mustBerth("up", "-d")
	for _, svc := range []string{"sidecar", "byname"} {
		// web's httpd may still be starting when up returns
		waitFor(t, svc+" to get web's page from 127.0.0.1:80", func() bool {
			r := e.berth("exec", "-T", svc, "timeout", "2", "wget", "-q", "-O-", "http://127.0.0.1/")
			return strings.TrimSpace(r.stdout) == "nsshare-web-1"
		})
	}
	e.mustBerth("down")
	testenv.AssertNoLeak(t, e.leakScope(), before)

	e.writeFile("compose.yaml", `
name: nsshare
services:
  lost:
    image: berth-test/busybox:1
    command: `+idle+`
    network_mode: "container:nsshare-nobody-1"
`)
	r := e.berth("up", "-d")
	if r.code == 0 || !strings.Contains(r.stderr, "container nsshare-nobody-1 not found") {
		t.Errorf("up with a missing network_mode container: exit %d, stderr %q", r.code, r.stderr)
	}
	e.berth("down")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
