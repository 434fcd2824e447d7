package procfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeProc builds a fake /proc with one process.
func writeProc(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{
		"stat":            "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n",
		"42/stat":         "42 (sh (weird) name) S 7 42 42 34817 42 4194560 100 0 0 0 250 150 0 0 20 0 1 0 360000 1000 10 0\n",
		"42/status":       "Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"42/cmdline":      "sh\x00-c\x00sleep 5\x00",
		"7/stat":          "7 (kworker) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0\n",
		"7/status":        "Uid:\t0\t0\t0\t0\n",
		"7/cmdline":       "",
		"99/nothing-here": "",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestTopReadsProc(t *testing.T) {
	proc := FS{root: writeProc(t), user: func(uid string) string {
		if uid == "0" {
			return "root"
		}
		return uid
	}}
	boot := time.Unix(1700000000, 0)
	// process 42 started 3600 s after boot and used 4 s of CPU; now is 400 s later
	now := boot.Add(4000 * time.Second)
	rows, err := proc.table([]uint32{99, 42, 7}, now)
	if err != nil {
		t.Fatal(err)
	}
	started := boot.Add(3600 * time.Second)
	want := [][]string{
		{"root", "7", "2", "0", startTime(boot.Add(time.Second), now), "?", "00:00:00", "[kworker]"},
		{"root", "42", "7", "1", startTime(started, now), "pts/1", "00:00:04", "sh -c sleep 5"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows: %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestTopFormats(t *testing.T) {
	now := time.Date(2024, 6, 5, 12, 0, 0, 0, time.Local)
	tests := []struct{ got, want string }{
		{startTime(now.Add(-time.Hour), now), "11:00"},
		{startTime(now.AddDate(0, 0, -3), now), "Jun02"},
		{startTime(now.AddDate(-1, 0, 0), now), "2023"},
		{cpuTime(100 * (2*86400 + 3*3600 + 4*60 + 5)), "2-03:04:05"},
		{cpuTime(100 * 61), "00:01:01"},
		{ttyName(0), "?"},
		{ttyName(136<<8 | 3), "pts/3"},
		{ttyName(4<<8 | 1), "tty1"},
		{ttyName(4<<8 | 65), "ttyS1"},
		{command([]byte("a\x00b c\x00"), "x"), "a b c"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if c := cpuPercent(100*500, 100*time.Second); c != 99 {
		t.Errorf("C is capped at 99, got %d", c)
	}
	if _, err := parseProcStat("42 no parens"); err == nil {
		t.Error("malformed stat accepted")
	}
}

func TestStartedAt(t *testing.T) {
	// process 42 started 360000 ticks (3600 s) after boot; the boot clock reads 4000.5 s
	proc := FS{root: writeProc(t), uptime: func() (time.Duration, error) { return 4000*time.Second + 500*time.Millisecond, nil }}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	got, err := proc.StartedAt(42, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-400*time.Second - 500*time.Millisecond); !got.Equal(want) {
		t.Errorf("StartedAt = %v, want %v", got, want)
	}
	if _, err := proc.StartedAt(99, now); err == nil {
		t.Error("a process without stat: no error")
	}
}

func TestStartedAtOfThisProcess(t *testing.T) {
	before := time.Now()
	got, err := Host().StartedAt(uint32(os.Getpid()), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// the test binary started before this test, a clock tick's rounding aside
	if got.After(before.Add(20*time.Millisecond)) || before.Sub(got) > 10*time.Minute {
		t.Errorf("this process started at %v, the test began at %v", got, before)
	}
}
