package ctrd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containerd/errdefs"
)

// Only what a killed client's task creation leaves behind is retried: everything
// else is the caller's error at once.
func TestIsTaskDebris(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("create: %w", errdefs.ErrAlreadyExists), true},
		{fmt.Errorf("create task x: %w", errTaskCreateHung), true},
		{errors.New("mkdir /run/containerd/io.containerd.runtime.v2.task/ns/x: file exists"), true},
		{errors.New("runc create failed: container with given ID already exists"), true},
		// containerd 1.6 starting a shim in a bundle directory a failing creation removed
		{errors.New("failed to start shim: start failed: io.containerd.runc.v2: fork/exec /usr/bin/containerd-shim-runc-v2: no such file or directory: exit status 1"), true},
		{errors.New(`runc create failed: unable to start container process: exec: "/app": stat /app: no such file or directory`), false},
		{fmt.Errorf("create: %w", errdefs.ErrNotFound), false},
	}
	for _, tt := range tests {
		if got := isTaskDebris(tt.err); got != tt.want {
			t.Errorf("isTaskDebris(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
