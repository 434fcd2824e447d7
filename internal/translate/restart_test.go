package translate

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestRestartPolicy(t *testing.T) {
	deploy := func(condition string, maxAttempts *uint64) *types.DeployConfig {
		return &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: condition, MaxAttempts: maxAttempts}}
	}
	tests := []struct {
		name    string
		restart string
		deploy  *types.DeployConfig
		want    string
	}{
		{name: "default", want: "no"},
		{name: "deploy without restart_policy", deploy: &types.DeployConfig{}, want: "no"},
		{name: "restart no", restart: "no", want: "no"},
		{name: "restart always", restart: "always", want: "always"},
		{name: "restart unless-stopped", restart: "unless-stopped", want: "unless-stopped"},
		{name: "restart on-failure:5", restart: "on-failure:5", want: "on-failure:5"},
		{name: "restart_policy none", deploy: deploy("none", nil), want: "no"},
		{name: "restart_policy on-failure", deploy: deploy("on-failure", nil), want: "on-failure"},
		{name: "restart_policy on-failure max_attempts", deploy: deploy("on-failure", ptr(uint64(3))), want: "on-failure:3"},
		{name: "restart_policy any", deploy: deploy("any", nil), want: "always"},
		// Docker Compose maps the engine's names too (mapRestartPolicyCondition)
		{name: "restart_policy no", deploy: deploy("no", nil), want: "no"},
		{name: "restart_policy always", deploy: deploy("always", nil), want: "always"},
		{name: "restart_policy unless-stopped", deploy: deploy("unless-stopped", nil), want: "unless-stopped"},
		{name: "restart_policy without condition", deploy: deploy("", nil), want: "always"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := types.ServiceConfig{Restart: tt.restart, Deploy: tt.deploy}
			if got := RestartPolicy(s); got != tt.want {
				t.Errorf("RestartPolicy = %q, want %q", got, tt.want)
			}
		})
	}
}
