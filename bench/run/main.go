// run compares berth with the floor (bench/floor: the same work done directly through
// containerd and go-cni) scenario by scenario, floor and berth alternately, and prints a
// Markdown table of medians, minima, maxima and the berth/floor ratio pair by pair, the
// peak RSS of berth for `up -d` of 50 services and the PSS of berth's helper processes
// per running container. Everything runs in its own containerd namespace and data root,
// and is removed at the end. scripts/bench.sh builds the binaries and runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/imagekit"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const imageRef = "berth-bench/busybox:latest"

// commands of the services: print lines for `logs`, stop at once on SIGTERM; or not.
const (
	cmdNormal = "seq 1 20; trap 'exit 0' TERM; sleep 3600 & wait"
	cmdIgnore = "seq 1 20; sleep 3600"
)

type config struct {
	berth, floor, namespace, perfBerth, outDir string
	baseline                                   string
	pairs, sigtermRuns                         int
	only                                       string
}

type bench struct {
	cfg      config
	tmp      string
	dataRoot string
	projects map[string]string // name → compose file
	out      io.Writer
	rows     []row
	// dockerRows compare berth with Docker Compose, when a docker daemon answers.
	dockerRows []row
	notes      []string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.berth, "berth", "bin/berth", "berth binary (berth-logger beside it)")
	flag.StringVar(&cfg.baseline, "baseline", "", "another berth `BINARY` (its berth-logger beside it) that the ab group alternates with -berth")
	flag.StringVar(&cfg.floor, "floor", "bin/bench-floor", "floor binary")
	flag.StringVar(&cfg.namespace, "namespace", "berth-bench", "containerd namespace")
	flag.StringVar(&cfg.perfBerth, "perf-berth", "", "an unstripped berth to profile `up -d` of 50 services with perf (empty: no profile)")
	flag.StringVar(&cfg.outDir, "o", "", "also write results.md, results.json and the profiles into `DIR`")
	flag.IntVar(&cfg.pairs, "pairs", 5, "measured pairs per scenario, after one warm-up pair")
	flag.IntVar(&cfg.sigtermRuns, "sigterm-runs", 2, "runs of down with SIGTERM-ignoring containers (each takes >10 s)")
	flag.StringVar(&cfg.only, "only", "", "comma-separated scenario groups: indep1,indep10,indep50,chain10,busy10,docker,sigterm10,profile,watch")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	tmp, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, tmp: tmp, dataRoot: filepath.Join(tmp, "data"), projects: map[string]string{}, out: os.Stdout}
	defer os.RemoveAll(tmp)
	defer b.cleanup()
	if err := b.setup(); err != nil {
		return err
	}
	start := time.Now()
	if err := b.scenarios(ctx); err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("measured in %s", time.Since(start).Round(time.Second)))
	return b.report()
}

func (b *bench) want(group string) bool {
	return b.cfg.only == "" || slices.Contains(strings.Split(b.cfg.only, ","), group)
}

func (b *bench) scenarios(ctx context.Context) error {
	steps := []struct {
		group string
		fn    func(context.Context) error
	}{
		{"indep1", func(ctx context.Context) error { return b.independent(ctx, 1) }},
		{"indep10", func(ctx context.Context) error { return b.independent(ctx, 10) }},
		{"indep50", func(ctx context.Context) error { return b.independent(ctx, 50) }},
		{"chain10", b.chain},
		{"busy10", b.busy},
		{"docker", b.docker},
		{"sigterm10", b.sigterm},
		{"profile", b.profile},
		{"watch", func(ctx context.Context) error { return b.watchLatency(ctx, 200*time.Millisecond) }},
		{"watch", func(ctx context.Context) error { return b.watchLatency(ctx, 500*time.Millisecond) }},
		{"watch", b.watchRebuild},
		{"ab", b.ab},
	}
	for _, s := range steps {
		if !b.want(s.group) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", s.group)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.group, err)
		}
	}
	return nil
}

// setup builds the busybox image, loads it and writes the compose files.
func (b *bench) setup() error {
	layer, err := imagekit.BusyboxLayer(imagekit.DefaultBusybox)
	if err != nil {
		return err
	}
	img, err := imagekit.Assemble(v1.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd: []string{"sh"},
	}, imagekit.Layer{Layer: layer, CreatedBy: "busybox-static"})
	if err != nil {
		return err
	}
	archive := filepath.Join(b.tmp, "busybox.tar")
	if err := imagekit.WriteArchiveFile(archive, img, imageRef); err != nil {
		return err
	}
	if _, err := b.berthGlobal(context.Background(), "image", "load", "-i", archive); err != nil {
		return err
	}
	for _, p := range []struct {
		name    string
		n       int
		chain   bool
		command string
	}{
		{"indep1", 1, false, cmdNormal}, {"indep10", 10, false, cmdNormal}, {"indep50", 50, false, cmdNormal},
		{"chain10", 10, true, cmdNormal}, {"sigterm10", 10, false, cmdIgnore},
	} {
		if err := b.writeProject(p.name, p.n, p.chain, p.command); err != nil {
			return err
		}
	}
	return b.writeWatchProject()
}

func (b *bench) writeProject(name string, n int, chain bool, command string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "name: %s\nservices:\n", name)
	cmd, _ := json.Marshal([]string{"sh", "-c", command})
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  s%d:\n    image: %s\n    command: %s\n", i, imageRef, cmd)
		if chain && i > 1 {
			fmt.Fprintf(&sb, "    depends_on:\n      s%d:\n        condition: service_started\n", i-1)
		}
	}
	dir := filepath.Join(b.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, "compose.yaml")
	b.projects[name] = path
	return os.WriteFile(path, []byte(sb.String()), 0o644)
}

// measured is one run of a process: its wall time, peak RSS and CPU time (user+sys of
// the process and of the children it waited for: the CNI plugins and their iptables).
type measured struct {
	d      time.Duration
	maxRSS int64 // KiB
	cpu    time.Duration
}

func (b *bench) berthGlobal(ctx context.Context, args ...string) (measured, error) {
	return b.exec(ctx, b.cfg.berth, append([]string{"--namespace", b.cfg.namespace, "--data-root", b.dataRoot}, args...)...)
}

// berth runs a command of berth on the project.
func (b *bench) berth(ctx context.Context, project string, args ...string) (measured, error) {
	return b.berthOf(ctx, b.cfg.berth, project, args...)
}

// berthOf runs a command of the given berth binary on the project.
func (b *bench) berthOf(ctx context.Context, bin, project string, args ...string) (measured, error) {
	return b.exec(ctx, bin, append([]string{"--namespace", b.cfg.namespace, "--data-root", b.dataRoot, "-f", b.projects[project], "-p", project}, args...)...)
}

func (b *bench) exec(ctx context.Context, bin string, args ...string) (measured, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	m := measured{d: time.Since(start)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss
			m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return m, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	}
	return m, nil
}

type floorResult struct {
	UpMS      float64 `json:"up_ms"`
	DownMS    float64 `json:"down_ms"`
	UpCPUMS   float64 `json:"up_cpu_ms"`
	DownCPUMS float64 `json:"down_cpu_ms"`
}

// floors is one run of each floor: CNI's and the native one.
type floors struct{ cni, native floorResult }

func (b *bench) floors(ctx context.Context, n int, serial bool) (floors, error) {
	var f floors
	var err error
	if f.cni, err = b.floorRun(ctx, n, serial, "cni"); err != nil {
		return f, err
	}
	f.native, err = b.floorRun(ctx, n, serial, "native")
	return f, err
}

func (b *bench) floorRun(ctx context.Context, n int, serial bool, backend string) (floorResult, error) {
	args := []string{"-namespace", b.cfg.namespace, "-n", strconv.Itoa(n), "-command", cmdNormal, "-backend", backend}
	if serial {
		args = append(args, "-serial")
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, b.cfg.floor, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return floorResult{}, fmt.Errorf("floor %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	var r floorResult
	return r, json.Unmarshal(out.Bytes(), &r)
}

// cleanup removes the projects, the image and the namespace, whatever happened before.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for name := range b.projects {
		if _, err := b.berth(ctx, name, "down", "-v", "-t", "1"); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
		}
	}
	if _, ok := b.projects[devenvProject]; ok {
		// berth's buildkitd of this data root, started by the rebuild scenario
		if _, err := b.berthGlobal(ctx, "builder", "stop"); err != nil {
			fmt.Fprintln(os.Stderr, "cleanup:", err)
		}
	}
	if out, err := exec.CommandContext(ctx, b.cfg.floor, "-namespace", b.cfg.namespace, "-cleanup").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: %v\n%s", err, out)
	}
}

var errInterrupted = errors.New("interrupted")

func checkCtx(ctx context.Context) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}
