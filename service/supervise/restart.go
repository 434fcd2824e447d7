package supervise

import (
	"strconv"
	"strings"
	"time"
)

// Docker's restart back-off: the first restart is quick, each next one
// waits twice as long, up to a minute; a run of ten seconds resets it.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second
)

// restartState is what supervision remembers of a container's restarts.
type restartState struct {
	Count     int       `json:"count"`
	Fails     int       `json:"fails"` // restarts since the last long run: the back-off exponent
	LastStart time.Time `json:"lastStart"`
}

// shouldRestart applies a policy to an exit: whether to restart, and the
// state after it.
func shouldRestart(policy string, exitCode int, st restartState, now time.Time) (bool, time.Duration, restartState) {
	name, maxText, _ := strings.Cut(policy, ":")
	switch name {
	case "always", "unless-stopped":
	case "on-failure":
		if exitCode == 0 {
			return false, 0, st
		}
		if limit, err := strconv.Atoi(maxText); err == nil && limit > 0 && st.Count >= limit {
			return false, 0, st
		}
	default:
		return false, 0, st
	}
	if !st.LastStart.IsZero() && now.Sub(st.LastStart) >= restartResetAfter {
		st.Fails = 0
	}
	delay := restartFirstDelay << min(st.Fails, 20)
	if delay > restartMaxDelay {
		delay = restartMaxDelay
	}
	st.Count++
	st.Fails++
	return true, delay, st
}
