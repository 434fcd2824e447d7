package supervise

import (
	"testing"
	"time"
)

func TestShouldRestart(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	recent := now.Add(-time.Second)
	tests := []struct {
		name      string
		policy    string
		exit      int
		st        restartState
		restart   bool
		delay     time.Duration
		wantCount int
		wantFails int
	}{
		{name: "no", policy: "no", exit: 1},
		{name: "empty policy", policy: "", exit: 1},
		{name: "always after success", policy: "always", exit: 0, restart: true, delay: 100 * time.Millisecond, wantCount: 1, wantFails: 1},
		{name: "unless-stopped", policy: "unless-stopped", exit: 3, restart: true, delay: 100 * time.Millisecond, wantCount: 1, wantFails: 1},
		{name: "on-failure after success", policy: "on-failure", exit: 0},
		{name: "on-failure after failure", policy: "on-failure", exit: 1, restart: true, delay: 100 * time.Millisecond, wantCount: 1, wantFails: 1},
		{name: "on-failure under its limit", policy: "on-failure:3", exit: 1, st: restartState{Count: 2, Fails: 2, LastStart: recent}, restart: true, delay: 400 * time.Millisecond, wantCount: 3, wantFails: 3},
		{name: "on-failure at its limit", policy: "on-failure:3", exit: 1, st: restartState{Count: 3, Fails: 3, LastStart: recent}, wantCount: 3, wantFails: 3},
		{name: "on-failure:0 has no limit", policy: "on-failure:0", exit: 1, st: restartState{Count: 50, Fails: 1, LastStart: recent}, restart: true, delay: 200 * time.Millisecond, wantCount: 51, wantFails: 2},
		{name: "back-off doubles", policy: "always", st: restartState{Count: 4, Fails: 4, LastStart: recent}, restart: true, delay: 1600 * time.Millisecond, wantCount: 5, wantFails: 5},
		{name: "back-off capped at a minute", policy: "always", st: restartState{Count: 10, Fails: 10, LastStart: recent}, restart: true, delay: time.Minute, wantCount: 11, wantFails: 11},
		{name: "back-off capped after many", policy: "always", st: restartState{Count: 100, Fails: 100, LastStart: recent}, restart: true, delay: time.Minute, wantCount: 101, wantFails: 101},
		{name: "a run of 10s resets the back-off", policy: "always", st: restartState{Count: 9, Fails: 9, LastStart: now.Add(-10 * time.Second)}, restart: true, delay: 100 * time.Millisecond, wantCount: 10, wantFails: 1},
		{name: "a run under 10s does not", policy: "always", st: restartState{Count: 2, Fails: 2, LastStart: now.Add(-9 * time.Second)}, restart: true, delay: 400 * time.Millisecond, wantCount: 3, wantFails: 3},
		{name: "never started", policy: "always", st: restartState{Count: 2, Fails: 2}, restart: true, delay: 400 * time.Millisecond, wantCount: 3, wantFails: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restart, delay, st := shouldRestart(tt.policy, tt.exit, tt.st, now)
			if restart != tt.restart || delay != tt.delay {
				t.Errorf("ShouldRestart = %v after %v, want %v after %v", restart, delay, tt.restart, tt.delay)
			}
			if st.Count != tt.wantCount || st.Fails != tt.wantFails || !st.LastStart.Equal(tt.st.LastStart) {
				t.Errorf("state %+v, want count %d, fails %d, last start %v", st, tt.wantCount, tt.wantFails, tt.st.LastStart)
			}
		})
	}
}

func TestShouldRestartSequence(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var st restartState
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000}
	for i, w := range want {
		restart, delay, next := shouldRestart("always", 1, st, now)
		if !restart || delay != w*time.Millisecond {
			t.Fatalf("restart %d: %v after %v, want after %v", i+1, restart, delay, w*time.Millisecond)
		}
		st = next
		st.LastStart = now.Add(delay) // crashes at once
		now = st.LastStart
	}
}
