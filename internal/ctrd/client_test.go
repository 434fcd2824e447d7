package ctrd

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// Connecting needs no daemon when it is meant to fail.
func TestConnectFailsFastWithOneLine(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the file but stop listening: a daemon that died without cleaning up.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	regular := filepath.Join(dir, "file")
	if err := writeFile(regular); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ address, reason string }{
		{"/nope.sock", "no such socket"},
		{stale, "connect: connection refused"},
		{regular, "not a socket"},
		{"unix://" + dir + "/missing.sock", "no such socket"},
	}
	for _, tt := range tests {
		start := time.Now()
		c, err := Connect(t.Context(), Options{Address: tt.address})
		elapsed := time.Since(start)
		if err == nil {
			c.Close()
			t.Fatalf("Connect(%s) succeeded", tt.address)
		}
		want := "cannot connect to containerd at " + tt.address + ": " + tt.reason +
			` (is containerd running? start it with "sudo scripts/install-runtime.sh" or "sudo containerd &")`
		if err.Error() != want {
			t.Errorf("Connect(%s) error:\n%s\nwant:\n%s", tt.address, err, want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
		if !errors.Is(err, ErrUnavailable) || !errdefs.IsUnavailable(err) {
			t.Errorf("Connect(%s) error is not ErrUnavailable: %v", tt.address, err)
		}
		if elapsed > 3*time.Second {
			t.Errorf("Connect(%s) took %v, want < 3s", tt.address, elapsed)
		}
		t.Logf("Connect(%s) failed in %v", tt.address, elapsed)
	}
}

func TestConnectRejectsBadPlatform(t *testing.T) {
	_, err := Connect(t.Context(), Options{Address: "/nope.sock", Platform: "not/a/platform/x"})
	if err == nil || !strings.HasPrefix(err.Error(), `parse platform "not/a/platform/x"`) {
		t.Errorf("error = %v", err)
	}
}

func writeFile(path string) error { return os.WriteFile(path, []byte("x"), 0o600) }

// A socket that accepts but never speaks gRPC (a hung daemon) must not hang Connect.
func TestConnectGivesUpOnSilentSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "silent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	start := time.Now()
	_, err = Connect(t.Context(), Options{Address: path})
	elapsed := time.Since(start)
	t.Logf("Connect(silent socket) failed in %v: %v", elapsed, err)
	if !errors.Is(err, ErrUnavailable) || elapsed > 3*time.Second {
		t.Errorf("error %v after %v, want ErrUnavailable within 3s", err, elapsed)
	}
	want := "cannot connect to containerd at " + path + ": no answer within 2s"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want it to start with %q", err, want)
	}
}
