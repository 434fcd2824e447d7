package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/examples/images"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/imagekit"
)

// rebuildChanges is how many api changes the rebuild scenario measures, after a
// warm-up change.
const rebuildChanges = 5

const devenvProject = "bench-devenv"

// apiLine is the line of examples/apps/api/main.go each change edits: the name the
// API puts in its X-Served-By header, which web passes on to the client. A new
// suffix is a one-line source change that changes the binary and what it answers.
const apiLine = "Hostname: hostname}"

// devenv is a copy of examples/devenv in the bench's directory: its Compose file
// (published on a free port of 127.0.0.1) and the build contexts of its programs.
// The programs are compiled from the repository's sources; api's changed main.go
// lives outside its build context (a go build overlay), so that only the binary
// reaches the watch, as when a developer compiles after saving.
type devenv struct {
	repo    string // the repository root, the working directory
	dir     string // the copy: devenv/ and apps/
	url     string // http://127.0.0.1:PORT, the published web service
	apiMain string // examples/apps/api/main.go as it is in the repository
}

// watchRebuild measures a rebuild rule: devenv's api changed by one line of Go,
// compiled, and the new binary put into api's build context. It reports the time
// from the binary's arrival to the new api answering through web, the BuildKit
// build's part of it (from the watch's own output), the rest, and checks that the
// other services keep their containers.
func (b *bench) watchRebuild(ctx context.Context) error {
	d, err := b.prepareDevenv(ctx)
	if err != nil {
		return err
	}
	if _, err := b.berth(ctx, devenvProject, "up", "-d", "--build", "--wait", "--wait-timeout", "120"); err != nil {
		return err
	}
	defer func() { _, _ = b.berth(context.WithoutCancel(ctx), devenvProject, "down", "-t", "1") }()
	if _, _, err := d.waitServedBy(ctx, "", 30*time.Second); err != nil {
		return err
	}
	before, err := b.serviceContainers(ctx, devenvProject)
	if err != nil {
		return err
	}
	w, err := b.startWatch(ctx, devenvProject, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer w.stop()
	var total, built, rest, compile pairs
	for i := 0; i <= rebuildChanges; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		m, err := b.rebuildOnce(ctx, d, w, fmt.Sprintf("+rev%d", i))
		if err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		warm := i == 0
		total.add(warm, 0, ms(m.total))
		built.add(warm, 0, ms(m.build))
		rest.add(warm, 0, ms(m.total-m.build))
		compile.add(warm, 0, ms(m.compile))
	}
	after, err := b.serviceContainers(ctx, devenvProject)
	if err != nil {
		return err
	}
	b.notes = append(b.notes, keptNote(before, after))
	b.add(row{Scenario: "watch: new api binary → new api answering, rebuild (devenv, 200ms window)", Unit: "ms", P: total})
	b.add(row{Scenario: "watch: … of which the BuildKit build of api's image", Unit: "ms", P: built})
	b.add(row{Scenario: "watch: … the rest: window, recreate, start (target ≤ 2000)", Unit: "ms", P: rest})
	b.add(row{Scenario: "go build of the changed api (before the above, not in it)", Unit: "ms", P: compile})
	return nil
}

type rebuildTimes struct{ total, build, compile time.Duration }

// rebuildOnce changes api's source with tag, compiles it, moves the binary into the
// build context and waits for the new api's answer and the watch's account of it.
func (b *bench) rebuildOnce(ctx context.Context, d *devenv, w *watchProc, tag string) (rebuildTimes, error) {
	var t rebuildTimes
	start := time.Now()
	staged, err := d.compileAPI(ctx, tag)
	if err != nil {
		return t, err
	}
	t.compile = time.Since(start)
	mark := w.mark()
	start = time.Now()
	// one rename, as go build itself puts its output in place
	if err := os.Rename(staged, filepath.Join(d.dir, "apps", "api", ".bin", "app")); err != nil {
		return t, err
	}
	answered, polls, err := d.waitServedBy(ctx, tag, 2*time.Minute)
	if err != nil {
		return t, fmt.Errorf("%w\nwatch output:\n%s", err, w.text(mark))
	}
	t.total = answered.Sub(start)
	begun, i, err := w.waitLine(ctx, mark, 30*time.Second, func(l string) bool { return strings.HasPrefix(l, `Rebuilding "api"`) })
	if err != nil {
		return t, fmt.Errorf("watch printed no Rebuilding line: %w\n%s", err, w.text(mark))
	}
	// the build's lines are BuildKit's (#N …); the first other line is the recreate's
	ended, _, err := w.waitLine(ctx, i+1, 30*time.Second, func(l string) bool { return l != "" && !strings.HasPrefix(l, "#") })
	if err != nil {
		return t, fmt.Errorf("watch printed nothing after the build: %w\n%s", err, w.text(mark))
	}
	t.build = ended.at.Sub(begun.at)
	done, _, err := w.waitLine(ctx, mark, time.Minute, func(l string) bool { return strings.HasPrefix(l, `Rebuilt "api"`) })
	if err != nil {
		return t, fmt.Errorf("watch printed no Rebuilt line: %w\n%s", err, w.text(mark))
	}
	if !strings.Contains(done.text, "new image, service recreated") {
		return t, fmt.Errorf("watch: %q; want a new image and a recreated api\n%s", done.text, w.text(mark))
	}
	if tag == fmt.Sprintf("+rev%d", rebuildChanges) {
		fmt.Fprintf(os.Stderr, "  the last change, from the binary's arrival: the watch's output\n%s  and the polls of /api/stats\n%s",
			w.timeline(mark, start), polls)
	}
	return t, nil
}

// prepareDevenv copies examples/devenv and its programs' build contexts into the
// bench's directory, compiles the programs and loads the base image.
func (b *bench) prepareDevenv(ctx context.Context) (*devenv, error) {
	repo, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	src := filepath.Join(repo, "examples", "devenv", "compose.yaml")
	compose, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("run the bench from the repository root: %w", err)
	}
	apiMain, err := os.ReadFile(filepath.Join(repo, "examples", "apps", "api", "main.go"))
	if err != nil {
		return nil, err
	}
	if strings.Count(string(apiMain), apiLine) != 1 {
		return nil, fmt.Errorf("examples/apps/api/main.go: want one line with %q to change", apiLine)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &devenv{repo: repo, dir: filepath.Join(b.tmp, "devenv-copy"), url: "http://127.0.0.1:" + port, apiMain: string(apiMain)}
	const portVar = "${DEVENV_PORT:-8080}"
	if !strings.Contains(string(compose), portVar) {
		return nil, fmt.Errorf("%s: no %s to replace with a free port", src, portVar)
	}
	file := filepath.Join(d.dir, "devenv", "compose.yaml")
	if err := writeFile(file, strings.ReplaceAll(string(compose), portVar, port)); err != nil {
		return nil, err
	}
	if err := d.copyContexts(ctx); err != nil {
		return nil, err
	}
	base, _, err := images.WriteBase(&imagekit.Builder{}, b.tmp)
	if err != nil {
		return nil, err
	}
	if _, err := b.berthGlobal(ctx, "image", "load", "-i", base); err != nil {
		return nil, err
	}
	b.projects[devenvProject] = file
	return d, nil
}

// copyContexts copies each program's Dockerfile and .dockerignore, compiles its
// binary into the copy, and copies the page web's sync rule watches.
func (d *devenv) copyContexts(ctx context.Context) error {
	for _, name := range []string{"web", "api", "store", "worker"} {
		for _, f := range []string{"Dockerfile", ".dockerignore"} {
			if err := copyFile(filepath.Join(d.repo, "examples", "apps", name, f), filepath.Join(d.dir, "apps", name, f)); err != nil {
				return err
			}
		}
		out := filepath.Join(d.dir, "apps", name, ".bin", "app")
		if err := d.goBuild(ctx, "./examples/apps/"+name, out, ""); err != nil {
			return err
		}
	}
	pages, err := filepath.Glob(filepath.Join(d.repo, "examples", "apps", "internal", "page", "*.html"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		if err := copyFile(p, filepath.Join(d.dir, "apps", "internal", "page", filepath.Base(p))); err != nil {
			return err
		}
	}
	return nil
}

// compileAPI compiles api with apiLine changed to carry tag, outside the build
// context, and returns the binary's path.
func (d *devenv) compileAPI(ctx context.Context, tag string) (string, error) {
	changed := strings.Replace(d.apiMain, apiLine, fmt.Sprintf("Hostname: hostname + %q}", tag), 1)
	main := filepath.Join(d.dir, "src", "api", "main.go")
	if err := writeFile(main, changed); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(d.repo, "examples", "apps", "api", "main.go"): main},
	})
	if err != nil {
		return "", err
	}
	overlayFile := filepath.Join(d.dir, "src", "overlay.json")
	if err := writeFile(overlayFile, string(overlay)); err != nil {
		return "", err
	}
	out := filepath.Join(d.dir, "src", "api", "app")
	return out, d.goBuild(ctx, "./examples/apps/api", out, overlayFile)
}

// goBuild compiles a program as images.Compile does (static, -trimpath), from the
// repository, with an optional overlay of changed sources.
func (d *devenv) goBuild(ctx context.Context, pkg, out, overlay string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = d.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, output)
	}
	return nil
}

// waitServedBy GETs web's /api/stats on 127.0.0.1 every 10 ms, without waiting for
// the requests before (one can hang while api is replaced, and the next may already
// be answered), until one answers from an api whose X-Served-By ends in suffix; it
// returns when that answer came, and the trace of the requests (pollTrace) with their
// times since the first was sent.
func (d *devenv) waitServedBy(parent context.Context, suffix string, timeout time.Duration) (time.Time, string, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	results := make(chan poll, 64)
	start := time.Now()
	var got []poll
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	seq, inFlight := 0, 0
	send := func() {
		if inFlight >= 300 {
			return
		}
		inFlight++
		go func(seq int) {
			sent := time.Now()
			answer, by := d.getStats(ctx, client)
			select { // after the return, ctx is done and nobody reads results
			case results <- poll{seq: seq, sent: sent, done: time.Now(), answer: answer, by: by}:
			case <-ctx.Done():
			}
		}(seq)
		seq++
	}
	send()
	for {
		select {
		case <-ctx.Done():
			if err := checkCtx(parent); err != nil {
				return time.Time{}, "", err
			}
			return time.Time{}, "", fmt.Errorf("%s/api/stats did not answer from an api ending in %q within %v", d.url, suffix, timeout)
		case r := <-results:
			inFlight--
			got = append(got, r)
			if r.by != "" && strings.HasSuffix(r.by, suffix) {
				return r.done, pollTrace(got, start), nil
			}
		case <-tick.C:
			send()
		}
	}
}

// poll is one GET of waitServedBy: the seq-th sent.
type poll struct {
	seq        int
	sent, done time.Time
	answer, by string
}

// pollTrace lists each change of answer and each slow answer, in the order the
// requests were sent.
func pollTrace(polls []poll, start time.Time) string {
	slices.SortFunc(polls, func(a, b poll) int { return a.seq - b.seq })
	var trace strings.Builder
	last := ""
	for _, p := range polls {
		if slow := p.done.Sub(p.sent) > 250*time.Millisecond; p.answer != last || slow {
			fmt.Fprintf(&trace, "  sent +%v, answered +%v: %s\n", p.sent.Sub(start).Round(time.Millisecond), p.done.Sub(start).Round(time.Millisecond), p.answer)
			last = p.answer
		}
	}
	return trace.String()
}

// getStats GETs /api/stats through web and returns what it got, and the api that
// answered when the answer is a 200.
func (d *devenv) getStats(ctx context.Context, client *http.Client) (answer, servedBy string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+"/api/stats", nil)
	if err != nil {
		return err.Error(), ""
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error(), ""
	}
	resp.Body.Close()
	by := resp.Header.Get("X-Served-By")
	answer = fmt.Sprintf("%s from %q", resp.Status, by)
	if resp.StatusCode != http.StatusOK {
		return answer, ""
	}
	return answer, by
}

// serviceContainers maps each service of the project to its container's ID and
// creation time: a recreated container has a new creation time.
func (b *bench) serviceContainers(ctx context.Context, project string) (map[string]string, error) {
	c, err := ctrd.Connect(ctx, ctrd.Options{Namespace: b.cfg.namespace})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	infos, err := c.ListContainers(ctx, map[string]string{"com.docker.compose.project": project})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, in := range infos {
		out[in.Labels["com.docker.compose.service"]] += in.ID + "@" + in.Created.String()
	}
	return out, nil
}

// keptNote says which services kept their containers across the rebuilds of api.
func keptNote(before, after map[string]string) string {
	var kept, replaced []string
	for _, svc := range []string{"web", "store", "worker"} {
		if before[svc] != "" && before[svc] == after[svc] {
			kept = append(kept, svc)
		} else {
			replaced = append(replaced, svc)
		}
	}
	api := "api was recreated"
	if before["api"] == after["api"] {
		api = "api was NOT recreated"
	}
	if len(replaced) > 0 {
		return fmt.Sprintf("watch rebuild: %s; %s lost their containers (want them kept)", api, strings.Join(replaced, ", "))
	}
	return fmt.Sprintf("watch rebuild: %s %d+1 times; %s kept their containers", api, rebuildChanges, strings.Join(kept, ", "))
}

func freePort() (string, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func writeFile(name, content string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, []byte(content), 0o644)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return writeFile(to, string(data))
}
