// build-images prepares what the example Dockerfiles build from, with no Docker, no
// registry and no network: it compiles the programs under examples/apps to static
// binaries (examples/apps/NAME/.bin/app, which each Dockerfile copies) and writes the base
// image berth-examples/base (busybox-static, internal/imagekit) to
// examples/.images/base.tar, ready for `berth image load -i`.
//
//	go run ./examples/cmd/build-images            # every program
//	go run ./examples/cmd/build-images api        # only examples/apps/api
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/examples/images"
	"github.com/berth-dev/berth/internal/imagekit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("build-images", flag.ContinueOnError)
	outDir := flags.String("o", "", "write the base image's archive to `DIR` (default examples/.images)")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: go run ./examples/cmd/build-images [-o DIR] [PROGRAM...]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	selected, err := images.Lookup(flags.Args()...)
	if err != nil {
		return err
	}
	examples, err := findExamples()
	if err != nil {
		return err
	}
	if *outDir == "" {
		*outDir = filepath.Join(examples, ".images")
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	apps := filepath.Join(examples, "apps")
	fmt.Fprintf(out, "compiling %d program(s) in %s for their Dockerfiles\n", len(selected), relative(apps))
	for _, p := range selected {
		start := time.Now()
		bin, err := images.Compile(ctx, p, apps)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-10s %s  %.1fs\n", p.Name, relative(bin), time.Since(start).Seconds())
	}
	path, id, err := images.WriteBase(&imagekit.Builder{}, *outDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "base image %s %s  %s\n", images.BaseRef, id[:19], relative(path))
	fmt.Fprintf(out, "load it with: berth image load -i %s\nthen 'berth up' (or 'berth build') builds the images from examples/apps/*/Dockerfile\n", relative(path))
	return nil
}

// relative shortens path to one relative to the working directory, as the user would
// type it; it keeps path when that fails.
func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		return path
	}
	return rel
}

// findExamples finds the examples directory from the working directory or one of its
// parents, so the command works from the repository root and from an example's directory.
func findExamples() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "examples")
		if fi, err := os.Stat(filepath.Join(candidate, "apps")); err == nil && fi.IsDir() {
			return candidate, nil
		}
		if filepath.Base(dir) == "examples" {
			if fi, err := os.Stat(filepath.Join(dir, "apps")); err == nil && fi.IsDir() {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no examples/apps directory here or above: run it inside the berth repository")
		}
		dir = parent
	}
}
