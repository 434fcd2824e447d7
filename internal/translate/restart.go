package translate

import (
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
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
