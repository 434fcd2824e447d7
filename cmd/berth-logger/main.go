// Command berth-logger stores one container's stdout and stderr in a rotated log file
// (internal/logs). containerd's shim starts it when a task is created with a binary://
// log URI, and it lives as long as the task, whether or not berth runs:
//
//	cio.BinaryIO("/usr/local/lib/berth/berth-logger", logs.LoggerArgs(path, rotate))
//
// The shim's contract (runc shim v2): the container's stdout is on fd 3, its stderr on
// fd 4, and fd 5 is a pipe the shim reads until the logger writes a byte or closes it,
// meaning "ready"; the task starts only then. CONTAINER_ID and CONTAINER_NAMESPACE are the
// whole environment. The URI's query becomes argv as "key value" pairs in random order:
//
//	berth-logger --path /abs/ctr.log [--max-size 10m] [--max-file 3]
//
// On task delete the shim closes its ends of the pipes and sends SIGTERM; the logger
// stores what is still buffered and exits. containerd's restart monitor starts tasks
// with the URI in the container label containerd.io/restart.loguri: without it (the same
// cio.LogURIGenerator("binary", logger, args).String()) a restarted task logs nowhere.
//
// One logger runs per container, so it is kept small: it links only the standard library
// and internal/logs (no containerd, no protobuf: their package inits alone would cost
// megabytes per process), runs on one P with a tight GC, and uses two goroutines. Build
// it static and stripped; the shim needs an absolute path to it:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /usr/local/lib/berth/berth-logger ./cmd/berth-logger
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

// The file descriptors the shim passes (cmd.ExtraFiles 0, 1 and 2).
const (
	stdoutFD = 3
	stderrFD = 4
	readyFD  = 5
)

// readSize is the read buffer per stream: half a pipe's default capacity, so a chatty
// container needs few reads while an idle logger stays small.
const readSize = 32 << 10

// drainTimeout bounds how long the logger reads after SIGTERM: the shim has closed its
// ends by then, but a process that escaped the container may hold them open. The shim
// waits 12 s before it kills.
const drainTimeout = 2 * time.Second

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	tune()
	cfg, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-logger: %v\n", err)
		return 2
	}
	stdout, stderr, err := openPipes()
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth-logger: %v\n", err)
		return 2
	}
	w, err := logs.NewWriter(cfg.path, cfg.rotate)
	if err != nil {
		// No ready byte: a binary-v2 shim fails the task; a 1.6 shim starts it anyway.
		fmt.Fprintf(os.Stderr, "berth-logger: container %s: %v\n", os.Getenv("CONTAINER_ID"), err)
		return 1
	}
	signalReady()
	done := make(chan struct{}, 2)
	go pump(stdout, logs.Stdout, w, done)
	go pump(stderr, logs.Stderr, w, done)
	waitForEnd(done, stdout, stderr)
	if err := w.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "berth-logger: %v\n", err)
		return 1
	}
	return 0
}

// tune keeps the process small. The environment the shim gives is fixed, so GOGC and
// GOMEMLIMIT cannot come from there. The heap is a few buffers: collecting at 50% growth
// costs nothing measurable, and the soft limit makes the runtime give memory back after
// a burst.
func tune() {
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(8 << 20)
}

type config struct {
	path   string
	rotate logs.RotateOptions
}

// parseArgs reads the "--key value" pairs of logs.LoggerArgs, in any order.
func parseArgs(args []string) (config, error) {
	fs := flag.NewFlagSet("berth-logger", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String(flagName(logs.ArgPath), "", "log file (absolute)")
	maxSize := fs.String(flagName(logs.ArgMaxSize), "", "rotate beyond this size")
	maxFile := fs.String(flagName(logs.ArgMaxFile), "", "files to keep")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("arguments: %w", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("arguments: unexpected %q", fs.Arg(0))
	}
	if *path == "" || !filepath.IsAbs(*path) {
		return config{}, fmt.Errorf("arguments: %s must be an absolute path, got %q", logs.ArgPath, *path)
	}
	opts := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case flagName(logs.ArgMaxSize):
			opts[logs.OptMaxSize] = *maxSize
		case flagName(logs.ArgMaxFile):
			opts[logs.OptMaxFile] = *maxFile
		}
	})
	rotate, err := logs.ParseRotateOptions(opts)
	if err != nil {
		return config{}, fmt.Errorf("arguments: %w", err)
	}
	return config{path: filepath.Clean(*path), rotate: rotate}, nil
}

// flagName strips the dashes: the flag package adds them back and accepts one or two.
func flagName(arg string) string {
	for len(arg) > 0 && arg[0] == '-' {
		arg = arg[1:]
	}
	return arg
}

// openPipes wraps fds 3 and 4. Made non-blocking, they go through the runtime's poller:
// the two readers then park without holding a thread each, and a read deadline can end
// them after SIGTERM.
func openPipes() (*os.File, *os.File, error) {
	var files [2]*os.File
	for i, fd := range []int{stdoutFD, stderrFD} {
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, nil, fmt.Errorf("fd %d: %w (berth-logger is started by containerd's shim)", fd, err)
		}
		files[i] = os.NewFile(uintptr(fd), []string{"stdout", "stderr"}[i])
	}
	return files[0], files[1], nil
}

// signalReady writes one byte and closes fd 5: a 1.6 shim takes the close (EOF) as ready,
// the binary-v2 protocol of containerd 2 wants the byte. Errors mean nobody is waiting.
func signalReady() {
	ready := os.NewFile(readyFD, "ready")
	_, _ = ready.Write([]byte{1})
	_ = ready.Close()
}

// pump copies one stream into the log until EOF or a read deadline. A failed write loses
// those lines but not the stream: the container must never block on its logger.
func pump(r *os.File, stream string, w *logs.Writer, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, readSize)
	failing := false
	for {
		n, err := r.Read(buf)
		if n > 0 {
			werr := w.Write(stream, buf[:n])
			if werr != nil && !failing {
				fmt.Fprintf(os.Stderr, "berth-logger: %v\n", werr)
			}
			failing = werr != nil
		}
		if err != nil {
			return
		}
	}
}

// waitForEnd returns once both streams ended, or drainTimeout after SIGTERM or SIGINT.
func waitForEnd(done <-chan struct{}, pipes ...*os.File) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	for ended := 0; ended < len(pipes); {
		select {
		case <-done:
			ended++
		case <-sigs:
			for _, p := range pipes {
				_ = p.SetReadDeadline(time.Now().Add(drainTimeout))
			}
		}
	}
}
