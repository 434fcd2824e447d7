package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/ctrd"
)

// watchChanges is how many changes one watch latency scenario measures, after a
// warm-up change.
const watchChanges = 20

// watchLatency measures `berth watch` on a sync rule: from the moment a file is written
// on the host to the moment its new content is readable in the container (through
// /proc/PID/root, the container's own view of its filesystem), one change at a time,
// with the given quiet window; the window is part of what a developer waits for.
func (b *bench) watchLatency(ctx context.Context, debounce time.Duration) error {
	project := "watch1"
	static := filepath.Join(filepath.Dir(b.projects[project]), "static")
	if _, err := b.berth(ctx, project, "up", "-d"); err != nil {
		return err
	}
	defer func() { _, _ = b.berth(context.WithoutCancel(ctx), project, "down", "-t", "1") }()
	stop, err := b.startWatch(ctx, project, debounce)
	if err != nil {
		return err
	}
	defer stop()
	pid, err := b.pidOf(ctx, project)
	if err != nil {
		return err
	}
	inside := filepath.Join(fmt.Sprintf("/proc/%d/root", pid), "srv/static/f.txt")
	var p pairs
	for i := 0; i <= watchChanges; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		content := fmt.Sprintf("change %d at %d\n", i, time.Now().UnixNano())
		start := time.Now()
		if err := os.WriteFile(filepath.Join(static, "f.txt"), []byte(content), 0o644); err != nil {
			return err
		}
		if err := pollContent(ctx, inside, content, 10*time.Second); err != nil {
			return err
		}
		p.add(i == 0, 0, ms(time.Since(start)))
		time.Sleep(2 * debounce) // the next change is a batch of its own
	}
	b.add(row{Scenario: fmt.Sprintf("watch: write → readable in the container, sync, %v window", debounce), Unit: "ms", P: p})
	return nil
}

// startWatch runs `berth watch --no-up` until the returned func is called, once it
// has said that it watches.
func (b *bench) startWatch(ctx context.Context, project string, debounce time.Duration) (func(), error) {
	args := []string{"--namespace", b.cfg.namespace, "--data-root", b.dataRoot, "-f", b.projects[project], "-p", project,
		"watch", "--no-up", "--debounce", debounce.String()}
	cmd := exec.CommandContext(ctx, b.cfg.berth, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Watching") {
				ready <- nil
				break
			}
		}
		ready <- errors.New("berth watch ended before watching")
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		stop()
		return nil, errors.New("berth watch did not start watching within 30s")
	}
	return stop, nil
}

// pidOf is the host PID of the project's one container.
func (b *bench) pidOf(ctx context.Context, project string) (uint32, error) {
	c, err := ctrd.Connect(ctx, ctrd.Options{Namespace: b.cfg.namespace})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	infos, err := c.ListContainers(ctx, map[string]string{"com.docker.compose.project": project})
	if err != nil {
		return 0, err
	}
	if len(infos) != 1 || infos[0].PID == 0 {
		return 0, fmt.Errorf("project %s: want one running container, got %d", project, len(infos))
	}
	return infos[0].PID, nil
}

// pollContent waits until the file holds want, reading it every millisecond.
func pollContent(ctx context.Context, name, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(name); err == nil && string(b) == want {
			return nil
		}
		if err := checkCtx(ctx); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s did not get the new content within %v", name, timeout)
}

// writeWatchProject is one idle service syncing ./static to /srv/static.
func (b *bench) writeWatchProject() error {
	dir := filepath.Join(b.tmp, "watch1")
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		return err
	}
	yaml := fmt.Sprintf(`name: watch1
services:
  s1:
    image: %s
    command: ["sh", "-c", %q]
    develop:
      watch:
        - path: ./static
          action: sync
          target: /srv/static
`, imageRef, cmdNormal)
	path := filepath.Join(dir, "compose.yaml")
	b.projects["watch1"] = path
	return os.WriteFile(path, []byte(yaml), 0o644)
}
