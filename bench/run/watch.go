package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	w, err := b.startWatch(ctx, project, debounce)
	if err != nil {
		return err
	}
	defer w.stop()
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
			return fmt.Errorf("change %d: %w; berth watch printed:\n%s", i, err, w.text(0))
		}
		p.add(i == 0, 0, ms(time.Since(start)))
		time.Sleep(2 * debounce) // the next change is a batch of its own
	}
	b.add(row{Scenario: fmt.Sprintf("watch: write → readable in the container, sync, %v window", debounce), Unit: "ms", P: p})
	return nil
}

// watchProc is a running `berth watch`: its output lines, stdout's and stderr's,
// each stamped with the moment the bench read it.
type watchProc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []stamped
	eof   int // pipes at their end
}

type stamped struct {
	at   time.Time
	text string
}

// startWatch runs `berth watch --no-up` until stop is called, once it has said that
// it watches.
func (b *bench) startWatch(ctx context.Context, project string, debounce time.Duration) (*watchProc, error) {
	args := []string{"--namespace", b.cfg.namespace, "--data-root", b.dataRoot, "--progress", "plain",
		"-f", b.projects[project], "-p", project, "watch", "--no-up", "--debounce", debounce.String()}
	w := &watchProc{cmd: exec.CommandContext(ctx, b.cfg.berth, args...)}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	go w.read(stdout)
	go w.read(stderr)
	if _, _, err := w.waitLine(ctx, 0, 30*time.Second, func(l string) bool { return strings.HasPrefix(l, "Watching") }); err != nil {
		w.stop()
		return nil, fmt.Errorf("berth watch: %w\n%s", err, w.text(0))
	}
	return w, nil
}

func (w *watchProc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		w.mu.Lock()
		w.lines = append(w.lines, stamped{at: time.Now(), text: sc.Text()})
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.eof++
	w.mu.Unlock()
}

// stop interrupts the watch, as Ctrl-C does, and waits for it to end.
func (w *watchProc) stop() {
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	_ = w.cmd.Wait()
}

// waitLine waits for the first line from index from on that match accepts, and
// returns it and its index.
func (w *watchProc) waitLine(ctx context.Context, from int, timeout time.Duration, match func(string) bool) (stamped, int, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		lines, eof := w.lines, w.eof
		w.mu.Unlock()
		for i := from; i < len(lines); i++ {
			if match(lines[i].text) {
				return lines[i], i, nil
			}
		}
		if eof == 2 {
			return stamped{}, 0, errors.New("ended")
		}
		if err := checkCtx(ctx); err != nil {
			return stamped{}, 0, err
		}
		from = len(lines)
		time.Sleep(time.Millisecond)
	}
	return stamped{}, 0, fmt.Errorf("no such line within %v", timeout)
}

// mark is the index the next line will have.
func (w *watchProc) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lines)
}

// timeline is the output from line from on, each line with its time since start.
func (w *watchProc) timeline(from int, start time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sb strings.Builder
	for _, l := range w.lines[min(from, len(w.lines)):] {
		fmt.Fprintf(&sb, "  +%v %s\n", l.at.Sub(start).Round(time.Millisecond), l.text)
	}
	return sb.String()
}

// text is the output from line from on, for error messages.
func (w *watchProc) text(from int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sb strings.Builder
	for _, l := range w.lines[min(from, len(w.lines)):] {
		sb.WriteString(l.text + "\n")
	}
	return sb.String()
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
