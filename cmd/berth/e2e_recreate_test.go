package main

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testenv"
)

// changedNetworkStack has a network whose subnet the test changes, two services on
// it and one that is not.
func changedNetworkStack(subnet string) string {
	return `
name: renet
services:
  a:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [back]
  b:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [back]
  c:
    image: berth-test/busybox:1
    command: ` + idle + `
networks:
  back:
    ipam:
      config:
        - subnet: ` + subnet + `
`
}

// A network whose definition changed is recreated with the containers on it, which
// come back on the new subnet and still reach each other by name; a container on
// another network is left alone. Docker Compose recreates a diverged network too
// (since v2.31); berth used to keep the old one silently.
func TestE2EChangedNetworkIsRecreated(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", changedNetworkStack("10.213.1.0/24"))
	e.mustBerth("up", "-d")
	if addr := e.addrOf("a", "eth0"); !strings.HasPrefix(addr, "10.213.1.") {
		t.Fatalf("a's address %s is not in 10.213.1.0/24", addr)
	}
	pids := e.tasks()

	// a no-op up keeps everything
	e.mustBerth("up", "-d")
	if after := e.tasks(); after["renet-a-1"] != pids["renet-a-1"] || after["renet-c-1"] != pids["renet-c-1"] {
		t.Fatalf("a no-op up recreated containers: %v -> %v", pids, after)
	}

	e.writeFile("compose.yaml", changedNetworkStack("10.213.2.0/24"))
	plan := e.mustBerth("--dry-run", "up", "-d")
	if !strings.Contains(plan.stdout+plan.stderr, "network:renet_back recreate (config changed: subnets[0]: 10.213.2.0/24") {
		t.Errorf("the dry run does not show the network's recreation with its reason:\n%s%s", plan.stdout, plan.stderr)
	}
	e.mustBerth("up", "-d")
	after := e.tasks()
	for _, name := range []string{"renet-a-1", "renet-b-1"} {
		if after[name] == 0 || after[name] == pids[name] {
			t.Errorf("%s was not recreated (pid %d -> %d)", name, pids[name], after[name])
		}
	}
	if after["renet-c-1"] != pids["renet-c-1"] {
		t.Errorf("c, not on the changed network, was recreated (pid %d -> %d)", pids["renet-c-1"], after["renet-c-1"])
	}
	if addr := e.addrOf("a", "eth0"); !strings.HasPrefix(addr, "10.213.2.") {
		t.Errorf("a's address %s is not in the new subnet 10.213.2.0/24", addr)
	}
	if !e.reach("a", "b") {
		t.Errorf("a cannot reach b by name on the recreated network")
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

func changedVolumeStack(label string) string {
	return `
name: revol
services:
  app:
    image: berth-test/busybox:1
    command: ` + idle + `
    volumes: [data:/data]
volumes:
  data:
    labels:
      purpose: ` + label + `
`
}

// A volume whose definition changed is refused with one line naming it and what
// changed, unless --yes, which recreates it (empty) with the containers using it.
func TestE2EChangedVolumeNeedsYes(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", changedVolumeStack("one"))
	e.mustBerth("up", "-d")
	e.mustBerth("exec", "-T", "app", "sh", "-c", "echo kept > /data/file")
	pids := e.tasks()

	e.writeFile("compose.yaml", changedVolumeStack("two"))
	r := e.berth("up", "-d")
	if r.code != 1 || !strings.Contains(r.stderr, `volume "revol_data" exists with a different definition (labels)`) || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("changed volume: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if after := e.tasks(); after["revol-app-1"] != pids["revol-app-1"] {
		t.Errorf("a refused up touched the container")
	}
	if out := e.mustBerth("exec", "-T", "app", "cat", "/data/file").stdout; strings.TrimSpace(out) != "kept" {
		t.Errorf("the volume's data changed after a refused up: %q", out)
	}

	e.mustBerth("up", "-d", "--yes")
	if r := e.berth("exec", "-T", "app", "cat", "/data/file"); r.code == 0 {
		t.Errorf("the recreated volume still holds the old data: %q", r.stdout)
	}
	e.mustBerth("up", "-d") // the new definition is recorded: nothing to ask
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
