package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

// hostnameServer answers with $HOSTNAME, the variable every container gets ($$: not
// interpolated by the Compose loader).
const hostnameServer = `["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www; echo $$HOSTNAME > /www/index.html; httpd -f -p 80 -h /www & wait"]`

const replicaStack = `
name: reps
services:
  web:
    image: berth-test/busybox:1
    command: ` + hostnameServer + `
    deploy:
      replicas: 3
    ports: ["127.0.0.1:16105-16115:80"]
  client:
    image: berth-test/busybox:1
    command: ` + idle + `
`

// Three replicas answer with three distinct $HOSTNAMEs, through the service's name
// and on their own port of a published range.
func TestE2EReplicasHostnameAndPortRange(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", replicaStack)
	e.mustBerth("up", "-d")

	byPort := map[string]bool{}
	for port := 16105; port < 16108; port++ {
		body := getEventually(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if !strings.HasPrefix(body, "reps-web-") {
			t.Errorf("port %d answers %q, want a replica's hostname", port, body)
		}
		byPort[body] = true
	}
	if len(byPort) != 3 {
		t.Errorf("the range's ports reach %d distinct replicas, want 3: %v", len(byPort), byPort)
	}

	// the service's name resolves to every replica (the client's resolver then sorts
	// the addresses, so asking by name alone always reaches the same one)
	out := e.mustBerth("exec", "-T", "client", "nslookup", "web").stdout
	var addrs []string
	for _, line := range strings.Split(out, "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "Address: "); ok && !strings.Contains(out[:strings.Index(out, line)], "Name:") {
			continue
		} else if ok {
			addrs = append(addrs, strings.Fields(a)[0])
		}
	}
	byName := map[string]bool{}
	for _, a := range addrs {
		r := e.mustBerth("exec", "-T", "client", "timeout", "2", "wget", "-q", "-O-", "http://"+a+"/")
		byName[strings.TrimSpace(r.stdout)] = true
	}
	if len(addrs) != 3 || len(byName) != 3 {
		t.Errorf("web resolves to %v, answering %v: want 3 replicas with 3 distinct hostnames\n%s", addrs, byName, out)
	}
	e.mustBerth("down")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// getEventually is httpGet retried for a while: a published port answers once its
// container's server listens.
func getEventually(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, err := httpGet(url)
		if err == nil {
			return strings.TrimSpace(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
