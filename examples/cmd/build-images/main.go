// build-images builds the example images from the programs under examples/apps, with no
// Docker, no registry and no network: each is a static Go binary on a busybox-static base
// (internal/imagekit). It writes examples/.images/NAME.tar, ready for
// `berth image load -i`, and prints each image's ID.
//
//	go run ./examples/cmd/build-images            # every image
//	go run ./examples/cmd/build-images api        # only berth-examples/api
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
	outDir := flags.String("o", "", "write the archives to `DIR` (default examples/.images)")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: go run ./examples/cmd/build-images [-o DIR] [IMAGE...]")
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
	fmt.Fprintf(out, "building %d image(s) from %s into %s\n", len(selected), relative(filepath.Join(examples, "apps")), relative(*outDir))
	b := &imagekit.Builder{}
	var archives []string
	for _, img := range selected {
		start := time.Now()
		built, err := images.Build(ctx, b, img, filepath.Join(examples, "apps"), *outDir)
		if err != nil {
			return err
		}
		archives = append(archives, relative(built.Path))
		fmt.Fprintf(out, "  %-30s %s  %s  %.1fs\n", img.Ref(), built.ID[:19], relative(built.Path), time.Since(start).Seconds())
	}
	if len(archives) == 1 {
		fmt.Fprintf(out, "load it with: berth image load -i %s\n", archives[0])
	} else {
		fmt.Fprintf(out, "load them with: for f in %s/*.tar; do berth image load -i \"$f\"; done\n", relative(*outDir))
	}
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
