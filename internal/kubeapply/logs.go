package kubeapply

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// LogLine is one line a pod's container printed.
type LogLine struct {
	Time time.Time
	Text string
}

// LogOptions choose the lines of StreamLogs.
type LogOptions struct {
	Follow bool
	// Tail is the number of last lines, -1 for all.
	Tail int64
}

// StreamLogs calls fn with each line of the pod's main container, through
// the API server (as kubectl logs), until the end or, with Follow, until the
// container stops or ctx ends.
func (c *Client) StreamLogs(ctx context.Context, p Pod, opts LogOptions, fn func(LogLine)) error {
	lo := &corev1.PodLogOptions{Container: p.Container, Follow: opts.Follow, Timestamps: true}
	if opts.Tail >= 0 {
		lo.TailLines = &opts.Tail
	}
	rc, err := c.core.CoreV1().Pods(c.Namespace).GetLogs(p.Name, lo).Stream(ctx)
	if err != nil {
		return fmt.Errorf("logs of pod %s: %w", p.Name, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fn(parseLogLine(sc.Text()))
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of pod %s: %w", p.Name, err)
	}
	return nil
}

// parseLogLine splits the RFC 3339 time the kubelet puts before each line.
func parseLogLine(s string) LogLine {
	ts, text, ok := strings.Cut(s, " ")
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return LogLine{Time: t, Text: text}
		}
	}
	return LogLine{Text: s}
}

// SelectPods keeps the pods of the named services (all when none), and
// refuses a name that is no service of the set.
func SelectPods(pods []Pod, services []string) ([]Pod, error) {
	if len(services) == 0 {
		return pods, nil
	}
	for _, s := range services {
		if !slices.ContainsFunc(pods, func(p Pod) bool { return p.Service == s }) {
			return nil, fmt.Errorf("no pod of service %q in the cluster", s)
		}
	}
	return slices.DeleteFunc(slices.Clone(pods), func(p Pod) bool { return !slices.Contains(services, p.Service) }), nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}
