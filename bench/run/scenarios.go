package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// independent measures up -d and down of n independent services against the floor of
// n concurrent containers, and, on the running project, no-op up (10, 50), ps and
// logs (10), peak RSS and helper PSS (50).
func (b *bench) independent(ctx context.Context, n int) error {
	project := fmt.Sprintf("indep%d", n)
	var up, down, upCPU, downCPU, noop, ps, logs pairs
	var rss []float64
	for i := 0; i <= b.cfg.pairs; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		warm := i == 0
		f, err := b.floors(ctx, n, false)
		if err != nil {
			return err
		}
		u, err := b.berth(ctx, project, "up", "-d")
		if err != nil {
			return err
		}
		if n >= 10 {
			m, err := b.berth(ctx, project, "up", "-d")
			if err != nil {
				return err
			}
			noop.add(warm, 0, ms(m.d))
		}
		if n == 10 {
			m, err := b.berth(ctx, project, "ps")
			if err != nil {
				return err
			}
			ps.add(warm, 0, ms(m.d))
			if m, err = b.berth(ctx, project, "logs", "--tail", "10"); err != nil {
				return err
			}
			logs.add(warm, 0, ms(m.d))
		}
		if n == 50 && i == b.cfg.pairs {
			b.helperPSS(n)
		}
		d, err := b.berth(ctx, project, "down")
		if err != nil {
			return err
		}
		up.add3(warm, f.cni.UpMS, f.native.UpMS, ms(u.d))
		down.add3(warm, f.cni.DownMS, f.native.DownMS, ms(d.d))
		upCPU.add3(warm, f.cni.UpCPUMS, f.native.UpCPUMS, ms(u.cpu))
		downCPU.add3(warm, f.cni.DownCPUMS, f.native.DownCPUMS, ms(d.cpu))
		if !warm {
			rss = append(rss, float64(u.maxRSS)/1024)
		}
	}
	b.add(row{Scenario: fmt.Sprintf("up -d, %d services", n), Unit: "ms", P: up})
	b.add(row{Scenario: fmt.Sprintf("down, %d services", n), Unit: "ms", P: down})
	b.add(row{Scenario: fmt.Sprintf("CPU (user+sys, with children) of up -d, %d services", n), Unit: "ms", P: upCPU})
	b.add(row{Scenario: fmt.Sprintf("CPU (user+sys, with children) of down, %d services", n), Unit: "ms", P: downCPU})
	if n >= 10 {
		b.add(row{Scenario: fmt.Sprintf("no-op up -d, %d services", n), Unit: "ms", P: noop})
	}
	if n == 10 {
		b.add(row{Scenario: "ps, 10 services", Unit: "ms", P: ps})
		b.add(row{Scenario: "logs --tail 10, 10 services", Unit: "ms", P: logs})
	}
	if n == 50 {
		var p pairs
		for _, r := range rss {
			p.add(false, 0, r)
		}
		b.add(row{Scenario: "peak RSS of berth, up -d of 50", Unit: "MiB", P: p})
	}
	return nil
}

// busy measures up -d and down of 10 services while two CPU-bound processes compete
// for the machine, and compares them with the idle runs of indep10 (when measured).
func (b *bench) busy(ctx context.Context) error {
	var spinners []*exec.Cmd
	defer func() {
		for _, c := range spinners {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	for range 2 {
		c := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			return err
		}
		spinners = append(spinners, c)
	}
	var up, down pairs
	for i := 0; i <= b.cfg.pairs; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		f, err := b.floors(ctx, 10, false)
		if err != nil {
			return err
		}
		u, err := b.berth(ctx, "indep10", "up", "-d")
		if err != nil {
			return err
		}
		d, err := b.berth(ctx, "indep10", "down")
		if err != nil {
			return err
		}
		up.add3(i == 0, f.cni.UpMS, f.native.UpMS, ms(u.d))
		down.add3(i == 0, f.cni.DownMS, f.native.DownMS, ms(d.d))
	}
	b.add(row{Scenario: "up -d, 10 services, 2 CPU-bound processes beside", Unit: "ms", P: up})
	b.add(row{Scenario: "down, 10 services, 2 CPU-bound processes beside", Unit: "ms", P: down})
	for _, r := range b.rows {
		if r.Scenario != "up -d, 10 services" {
			continue
		}
		idle, ok1 := summarize(r.P.Berth)
		loaded, ok2 := summarize(up.Berth)
		if ok1 && ok2 {
			b.notes = append(b.notes, fmt.Sprintf("up -d of 10 with 2 CPU-bound processes beside: %.2f× the idle median (%.0f / %.0f ms)",
				loaded.med/idle.med, loaded.med, idle.med))
		}
	}
	return nil
}

// chain measures a 10-service depends_on chain against the serial floor of 10.
func (b *bench) chain(ctx context.Context) error {
	var up, down pairs
	for i := 0; i <= b.cfg.pairs; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		f, err := b.floors(ctx, 10, true)
		if err != nil {
			return err
		}
		u, err := b.berth(ctx, "chain10", "up", "-d")
		if err != nil {
			return err
		}
		d, err := b.berth(ctx, "chain10", "down")
		if err != nil {
			return err
		}
		up.add3(i == 0, f.cni.UpMS, f.native.UpMS, ms(u.d))
		down.add3(i == 0, f.cni.DownMS, f.native.DownMS, ms(d.d))
	}
	b.add(row{Scenario: "up -d, 10-service chain (floor: serial)", Unit: "ms", P: up})
	b.add(row{Scenario: "down, 10-service chain (floor: serial)", Unit: "ms", P: down})
	return nil
}

// sigterm measures down of 10 services whose PID 1 ignores SIGTERM: the default 10 s
// grace period, then SIGKILL. No floor: the floor kills at once.
func (b *bench) sigterm(ctx context.Context) error {
	var down pairs
	for range b.cfg.sigtermRuns {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		if _, err := b.berth(ctx, "sigterm10", "up", "-d"); err != nil {
			return err
		}
		d, err := b.berth(ctx, "sigterm10", "down")
		if err != nil {
			return err
		}
		down.add(false, 0, ms(d.d))
	}
	b.add(row{Scenario: "down, 10 services ignoring SIGTERM", Unit: "ms", P: down})
	return nil
}

// helperPSS sums the PSS of the berth-logger processes of this namespace and of the
// helper of this data root, and reports it per running container.
func (b *bench) helperPSS(containers int) {
	var loggers, helper int64
	var nLoggers int
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		environ, _ := os.ReadFile(filepath.Join(dir, "environ"))
		switch {
		case filepath.Base(args[0]) == "berth-logger" &&
			strings.Contains(string(environ), "CONTAINER_NAMESPACE="+b.cfg.namespace+"\x00"):
			loggers += pss(dir)
			nLoggers++
		case (filepath.Base(args[0]) == "berth-helper" || filepath.Base(args[0]) == "berth" && strings.Contains(string(cmdline), "__helper")) &&
			(strings.Contains(string(cmdline), b.dataRoot) || strings.Contains(string(environ), b.dataRoot)):
			helper += pss(dir)
		}
	}
	per := float64(loggers+helper) / float64(containers) / 1024
	var p pairs
	p.add(false, 0, per)
	b.add(row{Scenario: "helper PSS per container, 50 running", Unit: "MiB", P: p})
	b.notes = append(b.notes, fmt.Sprintf("helper PSS with 50 containers: %d berth-logger processes %.1f MiB in all (%.2f MiB each), the helper %.1f MiB",
		nLoggers, float64(loggers)/1024, float64(loggers)/1024/float64(max(nLoggers, 1)), float64(helper)/1024))
}

// pss is the Pss of /proc/PID/smaps_rollup in KiB.
func pss(dir string) int64 {
	f, err := os.Open(filepath.Join(dir, "smaps_rollup"))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "Pss:" {
			n, _ := strconv.ParseInt(fields[1], 10, 64)
			return n
		}
	}
	return 0
}

// profile records where the CPU goes during up -d of 50 services: berth alone (an
// unstripped build, with call graphs) and the whole machine by process.
func (b *bench) profile(ctx context.Context) error {
	if b.cfg.perfBerth == "" {
		b.notes = append(b.notes, "no CPU profile: perf or an unstripped berth missing")
		return nil
	}
	dir := b.cfg.outDir
	if dir == "" {
		dir = b.tmp
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	berthArgs := []string{"--namespace", b.cfg.namespace, "--data-root", b.dataRoot, "-f", b.projects["indep50"], "-p", "indep50"}
	record := func(name string, perfArgs []string) error {
		data := filepath.Join(dir, name+".perf.data")
		args := append([]string{"record", "-q", "-o", data}, perfArgs...)
		args = append(append(args, "--", b.cfg.perfBerth), append(berthArgs, "up", "-d")...)
		if out, err := exec.CommandContext(ctx, "perf", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("perf %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		defer b.berth(ctx, "indep50", "down")
		reports := map[string][]string{
			"by-process": {"--sort", "comm"},
			"by-dso":     {"--comm", filepath.Base(b.cfg.perfBerth), "--sort", "dso"},
			"by-symbol":  {"--comm", filepath.Base(b.cfg.perfBerth), "--sort", "dso,symbol"},
		}
		for suffix, sort := range reports {
			args := append([]string{"report", "-i", data, "--stdio", "--no-children", "-g", "none", "--percent-limit", "0.5"}, sort...)
			out, err := exec.CommandContext(ctx, "perf", args...).Output()
			if err != nil {
				return fmt.Errorf("perf report: %w", err)
			}
			report := filepath.Join(dir, name+"-"+suffix+".txt")
			if err := os.WriteFile(report, out, 0o644); err != nil {
				return err
			}
			if b.cfg.outDir != "" {
				b.notes = append(b.notes, "profile: "+report)
			}
		}
		return nil
	}
	if err := record("berth", []string{"-F", "4999", "-g"}); err != nil {
		return err
	}
	return record("system", []string{"-F", "999", "-a"})
}
