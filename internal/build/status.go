package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	digest "github.com/opencontainers/go-digest"
)

// mux merges the status streams of concurrent builds into the one stream the display
// reads. With more than one build, each vertex is renamed "[service 2/3] RUN ..." and
// its digest made unique per build, so equal steps of two services show apart.
type mux struct {
	out    chan *client.SolveStatus
	prefix bool
	wg     sync.WaitGroup

	mu     sync.Mutex
	failed map[string]*failedStep // by build name
}

// failedStep is the step a build failed at and the end of its output.
type failedStep struct {
	name string
	logs map[digest.Digest][]byte
	at   digest.Digest
}

const keepLog = 4 << 10 // bytes of output kept per step, for the error of a quiet build

func newMux(prefix bool) *mux {
	return &mux{out: make(chan *client.SolveStatus), prefix: prefix, failed: map[string]*failedStep{}}
}

// add returns the channel one build writes its statuses to; the build closes it.
func (m *mux) add(name string) chan *client.SolveStatus {
	in := make(chan *client.SolveStatus)
	st := &failedStep{logs: map[digest.Digest][]byte{}}
	m.mu.Lock()
	m.failed[name] = st
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for s := range in {
			m.record(st, s)
			if m.prefix {
				rename(s, name)
			}
			m.out <- s
		}
	}()
	return in
}

// close ends the merged stream once every build has closed its own.
func (m *mux) close() {
	m.wg.Wait()
	close(m.out)
}

func (m *mux) record(st *failedStep, s *client.SolveStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range s.Logs {
		b := append(st.logs[l.Vertex], l.Data...)
		if len(b) > keepLog {
			b = b[len(b)-keepLog:]
		}
		st.logs[l.Vertex] = b
	}
	for _, v := range s.Vertexes {
		if v.Error != "" && st.name == "" && !strings.Contains(v.Error, "context canceled") {
			st.name, st.at = v.Name, v.Digest
		}
	}
}

// step returns the step a build failed at and its output.
func (m *mux) step(name string) (string, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.failed[name]
	if st == nil || st.name == "" {
		return "", ""
	}
	return st.name, string(bytes.TrimSpace(st.logs[st.at]))
}

func rename(s *client.SolveStatus, name string) {
	for _, v := range s.Vertexes {
		v.Digest = scoped(name, v.Digest)
		for i, in := range v.Inputs {
			v.Inputs[i] = scoped(name, in)
		}
		if rest, ok := strings.CutPrefix(v.Name, "["); ok {
			v.Name = "[" + name + " " + rest
		} else {
			v.Name = "[" + name + "] " + v.Name
		}
	}
	for _, st := range s.Statuses {
		st.Vertex = scoped(name, st.Vertex)
	}
	for _, l := range s.Logs {
		l.Vertex = scoped(name, l.Vertex)
	}
	for _, w := range s.Warnings {
		w.Vertex = scoped(name, w.Vertex)
	}
}

func scoped(name string, d digest.Digest) digest.Digest {
	return digest.FromString(name + "\x00" + d.String())
}

// Error is a failed build: which one, the step it failed at and, when the display
// did not show it, that step's output, and the Dockerfile lines BuildKit points at.
type Error struct {
	Name   string
	Step   string
	Output string // set when the display was quiet
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build %s: ", e.Name)
	msg := e.Err.Error()
	if e.Step != "" && !strings.Contains(msg, e.Step) {
		fmt.Fprintf(&b, "%s: ", e.Step)
	}
	b.WriteString(msg)
	for _, src := range errdefs.Sources(e.Err) {
		b.WriteString("\n")
		var sb bytes.Buffer
		if err := src.Print(&sb); err == nil {
			b.WriteString(strings.TrimRight(sb.String(), "\n"))
		}
	}
	if e.Output != "" {
		b.WriteString("\noutput:\n")
		b.WriteString(e.Output)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsBuildError reports whether err is a failed build (as opposed to not reaching
// buildkitd, or bad input).
func IsBuildError(err error) bool {
	var be *Error
	return errors.As(err, &be)
}
