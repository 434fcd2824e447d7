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

func TestIsShimOf(t *testing.T) {
	shim := []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "berth", "-id", "web-1", "-address", "/run/containerd/containerd.sock"}
	for _, tc := range []struct {
		name      string
		argv      []string
		namespace string
		id        string
		want      bool
	}{
		{"its shim", shim, "berth", "web-1", true},
		{"another id", shim, "berth", "web-10", false},
		{"another namespace", shim, "berth-e2e", "web-1", false},
		{"not a shim", []string{"/bin/sleep", "-namespace", "berth", "-id", "web-1"}, "berth", "web-1", false},
		{"a flag without value", []string{"containerd-shim-runc-v2", "-namespace", "berth", "-id"}, "berth", "", false},
		{"empty", nil, "berth", "web-1", false},
	} {
		if got := isShimOf(tc.argv, tc.namespace, tc.id); got != tc.want {
			t.Errorf("%s: isShimOf = %v, want %v", tc.name, got, tc.want)
		}
	}
}
