package translate

import (
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// Docker's restart back-off: the first restart is quick, each next one
// waits twice as long, up to a minute; a run of ten seconds resets it.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second
)

// RestartPolicy folds restart: and deploy.restart_policy into Docker's
// forms: no, always, unless-stopped, on-failure[:N].
func RestartPolicy(s types.ServiceConfig) string {
	// deploy.restart_policy replaces restart when both are set, as in Docker
	// Compose (getRestartPolicy)
	if s.Deploy == nil || s.Deploy.RestartPolicy == nil {
		if s.Restart != "" {
			return s.Restart
		}
		return "no"
	}
	rp := s.Deploy.RestartPolicy
	switch rp.Condition {
	case "none", "no":
		return "no"
	case "unless-stopped":
		return "unless-stopped"
	case "on-failure":
		if rp.MaxAttempts != nil {
			return "on-failure:" + strconv.FormatUint(*rp.MaxAttempts, 10)
		}
		return "on-failure"
	}
	return "always"
}

// RestartState is what supervision remembers of a container's restarts.
type RestartState struct {
	Count     int       `json:"count"`
	Fails     int       `json:"fails"` // restarts since the last long run: the back-off exponent
	LastStart time.Time `json:"lastStart"`
}

// ShouldRestart applies a policy to an exit: whether to restart, and the
// state after it.
func ShouldRestart(policy string, exitCode int, st RestartState, now time.Time) (bool, time.Duration, RestartState) {
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
