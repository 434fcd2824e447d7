package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// dockerVersions returns the versions of the docker daemon and of its compose plugin
// when both answer; the bench never installs or starts them.
func dockerVersions(ctx context.Context) (engine, compose string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Output()
	if err != nil {
		return "", "", false
	}
	c, err := exec.CommandContext(ctx, "docker", "compose", "version", "--short").Output()
	if err != nil {
		return "", "", false
	}
	return strings.TrimSpace(string(e)), strings.TrimSpace(string(c)), true
}

// docker measures Docker Compose and berth side by side on the same projects: up -d
// and down of 10 independent services (and of 50 with indep50 selected) and of the
// 10-service chain. Docker's containers run on its own containerd namespace (moby),
// with its own copy of the image.
func (b *bench) docker(ctx context.Context) error {
	engine, compose, ok := dockerVersions(ctx)
	if !ok {
		b.notes = append(b.notes, "Docker Compose: not measured (no docker daemon with the compose plugin answers)")
		return nil
	}
	b.notes = append(b.notes, fmt.Sprintf("Docker Compose %s on Docker Engine %s, side by side with berth", compose, engine))
	load := exec.CommandContext(ctx, "docker", "load", "-i", filepath.Join(b.tmp, "busybox.tar"))
	if out, err := load.CombinedOutput(); err != nil {
		return fmt.Errorf("docker load: %w\n%s", err, out)
	}
	defer exec.Command("docker", "image", "rm", "-f", imageRef).Run()
	projects := []string{"indep10", "chain10"}
	if b.want("indep50") {
		projects = append(projects, "indep50")
	}
	for _, p := range projects {
		if err := b.dockerProject(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) dockerProject(ctx context.Context, project string) error {
	compose := func(args ...string) (measured, error) {
		full := append([]string{"compose", "-f", b.projects[project], "-p", "docker-" + project}, args...)
		return b.exec(ctx, "docker", full...)
	}
	defer compose("down", "-t", "1")
	var up, down pairs
	for i := 0; i <= b.cfg.pairs; i++ {
		if err := checkCtx(ctx); err != nil {
			return err
		}
		du, err := compose("up", "-d")
		if err != nil {
			return err
		}
		dd, err := compose("down")
		if err != nil {
			return err
		}
		u, err := b.berth(ctx, project, "up", "-d")
		if err != nil {
			return err
		}
		d, err := b.berth(ctx, project, "down")
		if err != nil {
			return err
		}
		up.add(i == 0, ms(du.d), ms(u.d))
		down.add(i == 0, ms(dd.d), ms(d.d))
	}
	b.addDocker(row{Scenario: "up -d, " + project, Unit: "ms", P: up})
	b.addDocker(row{Scenario: "down, " + project, Unit: "ms", P: down})
	return nil
}

func (b *bench) addDocker(r row) {
	b.dockerRows = append(b.dockerRows, r)
	fmt.Fprintln(os.Stderr, "  docker "+r.dockerLine())
}

// dockerLine is a row of the Docker Compose table: P.Floor holds Docker's values.
func (r row) dockerLine() string {
	d, dok := summarize(r.P.Floor)
	bs, bok := summarize(r.P.Berth)
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %d |", r.Scenario, r.Unit, d.format(r.Unit, dok), bs.format(r.Unit, bok),
		ratioCell(r.P.Floor, r.P.Berth), len(r.P.Berth))
}
