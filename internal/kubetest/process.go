package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/testenv"
)

// process is one control-plane binary running for a test, its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // Wait's result, valid once exited is closed
}

// startProcess runs bin with args, output to logPath. The process dies with the test
// binary even when the test is killed (testenv.StartTied).
func startProcess(name, bin string, args []string, logPath string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	exited, err := testenv.StartTied(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = <-exited
		close(p.exited)
	}()
	return p, nil
}

// exitedErr is non-nil once the process has ended: a readiness wait gives up on it.
func (p *process) exitedErr() error {
	select {
	case <-p.exited:
		return &stopError{fmt.Errorf("%s exited: %v", p.name, p.err)}
	default:
		return nil
	}
}

// stop asks the process to end and kills it if it has not after 10 s (etcd and the API
// server flush on SIGTERM; a kill loses nothing a test needs but takes no longer).
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// logTail is the end of the process's log, for failure messages.
func (p *process) logTail() string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return p.name + " log (" + p.logPath + "):\n" + strings.Join(lines, "\n")
}
