package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

// concurrentStack has replicas, a second network and a named volume, so
// two racing commands have every kind of object to fight over.
const concurrentStack = `
name: NAME
services:
  a:
    image: berth-test/busybox:1
    command: ` + idle + `
    volumes: [data:/data]
  b:
    image: berth-test/busybox:1
    command: ` + idle + `
    depends_on: [a]
    networks: [default, back]
  c:
    image: berth-test/busybox:1
    command: ` + idle + `
    networks: [back]
    deploy:
      replicas: 2
networks:
  back: {}
volumes:
  data: {}
`

// concurrentNames are the containers concurrentStack asks for.
func concurrentNames(projectName string) []string {
	return []string{projectName + "-a-1", projectName + "-b-1", projectName + "-c-1", projectName + "-c-2"}
}

// runAll runs real berth processes at once, each started delays[i] after
// the first, and returns their results in order.
func runAll(t *testing.T, cmds []*exec.Cmd, delays []time.Duration) []result {
	t.Helper()
	out := make([]result, len(cmds))
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		wg.Go(func() {
			if i < len(delays) {
				time.Sleep(delays[i])
			}
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
				stderr.WriteString(err.Error())
			}
			out[i] = result{stdout.String(), stderr.String(), code}
		})
	}
	wg.Wait()
	return out
}

// assertExactlyRunning fails unless the namespace holds exactly the wanted
// containers, all running.
func assertExactlyRunning(t *testing.T, e *e2e, want []string) {
	t.Helper()
	cs := e.containers()
	if len(cs) != len(want) {
		t.Errorf("containers: %v, want exactly %v", cs, want)
	}
	for _, id := range want {
		if cs[id] != "running" {
			t.Errorf("%s is %q, want running", id, cs[id])
		}
	}
}

// TestE2EConcurrentUp runs two `up -d` of one project at once: the project
// lock serialises them, both succeed, and there is one container per
// replica, not two.
func TestE2EConcurrentUp(t *testing.T) {
	e, before := startE2E(t)
	name := "conc" + randomHex(3)
	e.writeFile("compose.yaml", strings.ReplaceAll(concurrentStack, "NAME", name))
	e.binary()
	rs := runAll(t, []*exec.Cmd{e.command("up", "-d"), e.command("up", "-d")}, nil)
	for i, r := range rs {
		if r.code != 0 {
			t.Errorf("up #%d: exit %d\n%s", i+1, r.code, r.stderr)
		}
	}
	assertExactlyRunning(t, e, concurrentNames(name))
	// and the project still works as one: an idempotent up changes nothing
	pids := e.tasks()
	e.mustBerth("up", "-d")
	if again := e.tasks(); !equalPIDs(pids, again) {
		t.Errorf("up after the race changed tasks: %v -> %v", pids, again)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// TestE2EConcurrentUpDown races `up -d` against `down -v` of the same
// project, with the down starting at different points of the up: the
// project ends either fully up or fully down, never half, and a following
// down -v restores the host.
func TestE2EConcurrentUpDown(t *testing.T) {
	e, before := startE2E(t)
	name := "updn" + randomHex(3)
	e.writeFile("compose.yaml", strings.ReplaceAll(concurrentStack, "NAME", name))
	e.binary()
	for _, delay := range []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond} {
		rs := runAll(t, []*exec.Cmd{e.command("up", "-d"), e.command("down", "-v")}, []time.Duration{0, delay})
		if rs[1].code != 0 {
			t.Errorf("down started %s after up: exit %d\n%s", delay, rs[1].code, rs[1].stderr)
		}
		cs := e.containers()
		switch {
		case len(cs) == 0:
			// down won (or ran last): nothing at all is left
			t.Logf("down %s after up: down ran last (up exit %d)", delay, rs[0].code)
			testenv.AssertNoLeak(t, e.leakScope(), before)
		default:
			t.Logf("down %s after up: up ran last (up exit %d)", delay, rs[0].code)
			if rs[0].code != 0 {
				t.Errorf("up lost the race with exit %d yet left containers %v:\n%s", rs[0].code, cs, rs[0].stderr)
			}
			assertExactlyRunning(t, e, concurrentNames(name))
		}
		e.mustBerth("down", "-v")
		testenv.AssertNoLeak(t, e.leakScope(), before)
	}
}

const parallelStack = `
name: NAME
services:
  web:
    image: berth-test/busybox:1
    command: ` + webCommand + `
    networks: [default, side]
    ports: ["127.0.0.1::80"]
networks:
  side: {}
`

// TestE2EParallelProjects brings two projects of one namespace up and down
// at the same time: they get their own names, subnets and ports, both
// answer, and both go away completely.
func TestE2EParallelProjects(t *testing.T) {
	e, before := startE2E(t)
	suffix := randomHex(3)
	names := []string{"para" + suffix, "parb" + suffix}
	for _, n := range names {
		e.writeFile(n+".yaml", strings.ReplaceAll(parallelStack, "NAME", n))
	}
	e.binary()
	ups := []*exec.Cmd{e.command("-f", names[0]+".yaml", "up", "-d"), e.command("-f", names[1]+".yaml", "up", "-d")}
	for i, r := range runAll(t, ups, nil) {
		if r.code != 0 {
			t.Fatalf("up of %s: exit %d\n%s", names[i], r.code, r.stderr)
		}
	}
	assertExactlyRunning(t, e, []string{names[0] + "-web-1", names[1] + "-web-1"})

	subnets := map[string]string{}
	ports := map[string]string{}
	for _, n := range names {
		for _, iface := range []string{"eth0", "eth1"} {
			cidr := e.cidrOf(n+".yaml", iface)
			if other, ok := subnets[cidr]; ok {
				t.Errorf("%s %s and %s share subnet %s", n, iface, other, cidr)
			}
			subnets[cidr] = n + " " + iface
		}
		port := e.publishedPort(n + ".yaml")
		if other, ok := ports[port]; ok {
			t.Errorf("%s and %s both publish 127.0.0.1:%s", n, other, port)
		}
		ports[port] = n
		body, err := httpGet("http://127.0.0.1:" + port + "/")
		if err != nil || !strings.Contains(body, n+"-web-1") {
			t.Errorf("%s on 127.0.0.1:%s answers %q, %v", n, port, body, err)
		}
	}

	downs := []*exec.Cmd{e.command("-p", names[0], "down", "-v"), e.command("-p", names[1], "down", "-v")}
	for i, r := range runAll(t, downs, nil) {
		if r.code != 0 {
			t.Errorf("down of %s: exit %d\n%s", names[i], r.code, r.stderr)
		}
	}
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// cidrOf returns the subnet of a web container's interface, as a.b.c.d/n.
func (e *e2e) cidrOf(file, iface string) string {
	e.t.Helper()
	out := e.mustBerth("-f", file, "exec", "-T", "web", "ip", "-4", "-o", "addr", "show", iface).stdout
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			if _, n, err := net.ParseCIDR(f[i+1]); err == nil {
				return n.String()
			}
		}
	}
	e.t.Fatalf("no IPv4 subnet on %s of %s: %q", iface, file, out)
	return ""
}

// publishedPort returns the one host port the project's web publishes.
func (e *e2e) publishedPort(file string) string {
	e.t.Helper()
	var rows []psRow
	for _, l := range strings.Split(strings.TrimSpace(e.mustBerth("-f", file, "ps", "--format", "json").stdout), "\n") {
		var row psRow
		if err := jsonUnmarshal(l, &row); err != nil {
			e.t.Fatalf("ps --format json line %q: %v", l, err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 1 || len(rows[0].Publishers) != 1 || rows[0].Publishers[0].PublishedPort == 0 {
		e.t.Fatalf("%s publishes %+v", file, rows)
	}
	return strconv.Itoa(rows[0].Publishers[0].PublishedPort)
}

// TestE2EMemLimitOOM: a container that allocates past its mem_limit is
// killed by the kernel (exit 137), while one that stays under the same
// limit keeps running and sees the limit in its cgroup.
func TestE2EMemLimitOOM(t *testing.T) {
	e, before := startE2E(t)
	e.writeFile("compose.yaml", `
name: oom
services:
  hog:
    image: berth-test/busybox:1
    # the shell doubles a variable until the 32 MiB limit stops it
    command: ["sh", "-c", "x=a; while true; do x=$$x$$x; done"]
    mem_limit: 32m
  modest:
    image: berth-test/busybox:1
    # about 8 MiB, then idles
    command: ["sh", "-c", "trap 'exit 0' TERM; x=a; for i in $$(seq 23); do x=$$x$$x; done; while true; do sleep 0.2; done"]
    mem_limit: 32m
`)
	e.mustBerth("up", "-d")
	var hog psRow
	waitFor(t, "hog to be OOM-killed", func() bool {
		for _, row := range psJSONArgs(t, e, "-a") {
			if row.Service == "hog" {
				hog = row
			}
		}
		return hog.State == "exited"
	})
	if hog.ExitCode != 137 {
		t.Errorf("hog exited with %d (%s), want 137", hog.ExitCode, hog.Status)
	}
	if cs := e.containers(); cs["oom-modest-1"] != "running" {
		t.Errorf("modest, under its limit, is %q", cs["oom-modest-1"])
	}
	if limit := memoryLimit(t, e.tasks()["oom-modest-1"]); limit != strconv.Itoa(32<<20) {
		t.Errorf("modest's cgroup memory limit is %q, want %d", limit, 32<<20)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// memoryLimit reads the memory.limit_in_bytes of a process's cgroup (v1
// memory controller) from the host.
func memoryLimit(t *testing.T, pid uint32) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controllers:path
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "memory") {
			v, err := os.ReadFile("/sys/fs/cgroup/memory" + f[2] + "/memory.limit_in_bytes")
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(v))
		}
	}
	t.Fatalf("process %d is in no memory cgroup:\n%s", pid, b)
	return ""
}

// TestE2EPidsLimit: a service trying to start 100 processes under
// pids_limit 20 never has more than 20.
func TestE2EPidsLimit(t *testing.T) {
	e, before := startE2E(t)
	// PID 1 is a tail that never forks, so failed forks of the spawner
	// cannot take the container down
	e.writeFile("compose.yaml", `
name: pids
services:
  bomb:
    image: berth-test/busybox:1
    command: ["sh", "-c", "(for i in $$(seq 100); do sleep 300 & done; wait) 2>/dev/null & exec tail -f /dev/null"]
    pids_limit: 20
    stop_grace_period: 1s
`)
	e.mustBerth("up", "-d")
	count := func() int {
		r := e.mustBerth("top", "bomb")
		n := 0
		for i, l := range strings.Split(r.stdout, "\n") {
			if i > 1 && strings.TrimSpace(l) != "" {
				n++
			}
		}
		return n
	}
	// the spawner gets as far as the limit lets it, then stalls
	waitFor(t, "the spawner to reach the limit", func() bool { return count() >= 15 })
	most := 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n := count()
		most = max(most, n)
		if n > 20 {
			t.Fatalf("bomb runs %d processes under pids_limit 20:\n%s", n, e.mustBerth("top", "bomb").stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("at most %d processes under pids_limit 20", most)
	if cs := e.containers(); cs["pids-bomb-1"] != "running" {
		t.Errorf("bomb is %q", cs["pids-bomb-1"])
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// psJSONArgs is psJSON with extra ps arguments (-a).
func psJSONArgs(t *testing.T, e *e2e, args ...string) []psRow {
	t.Helper()
	r := e.mustBerth(append([]string{"ps", "--format", "json"}, args...)...)
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

// soakStack is ten idle services on two networks sharing one volume.
func soakStack(projectName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nservices:\n", projectName)
	for i := range 10 {
		nets := "[front]"
		if i%2 == 1 {
			nets = "[front, back]"
		}
		fmt.Fprintf(&b, "  s%d:\n    image: berth-test/busybox:1\n    command: %s\n    networks: %s\n    volumes: [shared:/shared]\n", i, idle, nets)
	}
	b.WriteString("networks:\n  front: {}\n  back: {}\nvolumes:\n  shared: {}\n")
	return b.String()
}

// TestE2ESoak repeats up -d / down -v of a ten-service stack: every round
// converges, and afterwards nothing is left and containerd holds no more
// file descriptors than before. BERTH_SOAK=1 (make soak) runs 50 rounds.
func TestE2ESoak(t *testing.T) {
	rounds := 5
	if os.Getenv("BERTH_SOAK") == "1" {
		rounds = 50
	}
	e, before := startE2E(t)
	name := "soak" + randomHex(3)
	e.writeFile("compose.yaml", soakStack(name))
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("%s-s%d-1", name, i))
	}
	var baseline int
	start := time.Now()
	for round := range rounds {
		e.mustBerth("up", "-d")
		if cs := e.containers(); len(cs) != 10 {
			t.Fatalf("round %d: containers after up: %v", round, cs)
		}
		assertExactlyRunning(t, e, want)
		e.mustBerth("down", "-v")
		if cs := e.containers(); len(cs) != 0 {
			t.Fatalf("round %d: containers after down: %v", round, cs)
		}
		if round == 0 {
			// containerd opens some files for good on first use (content
			// store, snapshotter): measure after one warm-up round
			baseline = containerdFDs(t)
		}
	}
	t.Logf("%d rounds in %s", rounds, time.Since(start).Round(time.Millisecond))
	testenv.AssertNoLeak(t, e.leakScope(), before)
	// closing connections and exiting shims take a moment to release fds
	var now int
	deadline := time.Now().Add(10 * time.Second)
	for now = containerdFDs(t); now > baseline+5 && time.Now().Before(deadline); now = containerdFDs(t) {
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("containerd fds: %d after the first round, %d after %d rounds", baseline, now, rounds)
	if now > baseline+5 {
		t.Errorf("containerd's open file descriptors grew from %d to %d over %d rounds", baseline, now, rounds-1)
	}
}

// containerdFDs counts the open file descriptors of the containerd that
// serves the tests.
func containerdFDs(t *testing.T) int {
	t.Helper()
	pid := containerdPID(t)
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatalf("containerd fds: %v", err)
	}
	return len(ents)
}

// containerdPID finds the containerd process listening on the tests'
// address: the one naming it on its command line, else the only one.
func containerdPID(t *testing.T) string {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var all, matching []string
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + p.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "containerd" {
			continue
		}
		all = append(all, p.Name())
		if cmdline, err := os.ReadFile("/proc/" + p.Name() + "/cmdline"); err == nil && bytes.Contains(cmdline, []byte(testenv.ContainerdAddress())) {
			matching = append(matching, p.Name())
		}
	}
	switch {
	case len(matching) == 1:
		return matching[0]
	case len(all) == 1:
		return all[0]
	}
	t.Fatalf("cannot tell which containerd serves %s: %v", testenv.ContainerdAddress(), all)
	return ""
}

// TestE2EDataRootPrivate: berth's state, secrets included, is readable by
// root alone: the namespace's directory under the data root is 0700 even
// when the data root itself is open to all, and every secret's host copy
// sits behind a directory others cannot enter.
func TestE2EDataRootPrivate(t *testing.T) {
	e, _ := startE2E(t)
	if err := os.Chmod(e.dataRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	before := testenv.Snapshot(t, e.leakScope())
	e.writeFile("pw.txt", "s3cret\n")
	e.writeFile("compose.yaml", `
name: priv
services:
  app:
    image: berth-test/busybox:1
    command: `+idle+`
    secrets: [pw, tok]
secrets:
  pw:
    file: ./pw.txt
  tok:
    environment: PRIV_TOKEN
`)
	t.Setenv("PRIV_TOKEN", "tok-456")
	e.mustBerth("up", "-d")
	// berth's state lives in one directory per namespace under --data-root
	nsRoot := filepath.Join(e.dataRoot, e.namespace)
	if fi, err := os.Stat(nsRoot); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s after up: %v %v, want 0700", nsRoot, fi.Mode(), err)
	}
	found := 0
	err := filepath.WalkDir(e.dataRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil || !(bytes.Contains(b, []byte("s3cret")) || bytes.Contains(b, []byte("tok-456"))) {
			return nil
		}
		found++
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o001 == 0 {
				return nil // others cannot get past dir
			}
			if dir == e.dataRoot {
				t.Errorf("secret %s is reachable by other users", p)
				return nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 2 {
		t.Errorf("found %d host copies of the 2 secrets under the data root; the test looks in the wrong place", found)
	}
	e.mustBerth("down", "-v")
	testenv.AssertNoLeak(t, e.leakScope(), before)
}

// TestE2ENamesRefusedBeforeCreate: names that would escape berth's
// directories, or that containerd would refuse, stop up before anything
// is created, inside or outside the data root.
func TestE2ENamesRefusedBeforeCreate(t *testing.T) {
	e, before := startE2E(t)
	outside := filepath.Dir(e.dataRoot)
	filesOutside := func() []string {
		var out []string
		_ = filepath.WalkDir(outside, func(p string, d fs.DirEntry, err error) error {
			if p == e.dataRoot && d.IsDir() {
				return filepath.SkipDir
			}
			out = append(out, p)
			return nil
		})
		return out
	}
	service := "    image: berth-test/busybox:1\n    command: " + idle + "\n"
	tests := []struct {
		name, file string
	}{
		{name: "container_name", file: "name: esc\nservices:\n  app:\n" + service + "    container_name: ../../../../evil\n"},
		{name: "long name", file: "name: esc\nservices:\n  " + strings.Repeat("s", 80) + ":\n" + service},
		{
			name: "volume name",
			file: "name: esc\nservices:\n  app:\n" + service + "    volumes: [vol:/v]\nvolumes:\n  vol:\n    name: ../../../../evil\n",
		},
		{name: "network name", file: "name: esc\nservices:\n  app:\n" + service + "    networks: [n]\nnetworks:\n  n:\n    name: ../../../../evil\n"},
		{
			name: "relative volume target",
			file: "name: esc\nservices:\n  app:\n" + service + "    volumes: [\"./host:rel\"]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeFile("compose.yaml", tt.file)
			files := filesOutside()
			r := e.berth("up", "-d")
			if r.code == 0 {
				t.Errorf("up accepted it:\n%s", r.stderr)
			}
			t.Logf("up: exit %d\n%s", r.code, r.stderr)
			if cs := e.containers(); len(cs) != 0 {
				t.Errorf("a refused up created containers: %v", cs)
			}
			if now := filesOutside(); !slices.Equal(files, now) {
				t.Errorf("files outside the data root changed:\nbefore %v\nafter  %v", files, now)
			}
			testenv.AssertNoLeak(t, e.leakScope(), before)
			e.berth("down", "-v")
		})
	}
	testenv.AssertNoLeak(t, e.leakScope(), before)
}
