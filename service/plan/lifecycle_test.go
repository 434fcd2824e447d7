package plan

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/record"
)

func withDeps(c Container, deps string) Container {
	c.Labels = map[string]string{record.LabelDependsOn: deps}
	c.DependsOn = record.Decode(c.Labels).DependsOn
	return c
}

func withStateOf(c Container, state string) Container {
	c.State = state
	return c
}

// stack is web -> api -> db (healthy), api -> cache; batch stands alone.
func stack() Observed {
	return Observed{Containers: []Container{
		running("db", 1, ""),
		withDeps(running("api", 1, ""), "db:service_healthy:true,cache:service_started:false"),
		withDeps(running("web", 1, ""), "api:service_started:false"),
		running("cache", 1, ""),
		running("batch", 1, ""),
	}}
}

func assertPlan(t *testing.T, plan *Plan, want string) {
	t.Helper()
	if got := plan.String(); strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("plan:\n%s\nwant:\n%s", got, strings.TrimSpace(want))
	}
}

func TestLifecyclePlanStopOrdersDependentsFirst(t *testing.T) {
	assertPlan(t, PlanStop(stack(), nil), `
[] -> #1 container:p-batch-1 stop
[] -> #2 container:p-web-1 stop
[#2] -> #3 container:p-api-1 stop
[#2 #3] -> #4 container:p-cache-1 stop
[#2 #3] -> #5 container:p-db-1 stop
`)
	// db still waits for web, through api which is not selected
	assertPlan(t, PlanStop(stack(), []string{"db", "web"}), `
[] -> #1 container:p-web-1 stop
[#1] -> #2 container:p-db-1 stop
`)
}

func TestLifecyclePlanStartDependenciesFirstWithConditions(t *testing.T) {
	o := stack()
	for i := range o.Containers {
		o.Containers[i].State = StateExited
	}
	assertPlan(t, mustPlan(t)(PlanStart(o, []string{"web"})), `
[] -> #1 container:p-cache-1 start
[] -> #2 container:p-db-1 start
[#2] -> #3 service:db wait-healthy
[#1 #2 #3] -> #4 container:p-api-1 start
[#4] -> #5 container:p-web-1 start
`)
	// running dependencies are not started again, but their condition holds
	o.Containers[0].State = StateRunning
	assertPlan(t, mustPlan(t)(PlanStart(o, []string{"api"})), `
[] -> #1 container:p-cache-1 start
[] -> #2 service:db wait-healthy
[#1 #2] -> #3 container:p-api-1 start
`)
	if _, err := PlanStart(o, []string{"ghost"}); err == nil || err.Error() != `service "ghost" has no container to start` {
		t.Errorf("start of a service without containers: %v", err)
	}
}

func mustPlan(t *testing.T) func(*Plan, error) *Plan {
	return func(p *Plan, err error) *Plan {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func TestLifecyclePlanRestartFollowsRestartTrue(t *testing.T) {
	// api declared restart: true on db, so restarting db restarts api after it
	assertPlan(t, PlanRestart(stack(), []string{"db"}, false), `
[] -> #1 container:p-db-1 restart
[#1] -> #2 container:p-api-1 restart
`)
	assertPlan(t, PlanRestart(stack(), []string{"db"}, true), `
[] -> #1 container:p-db-1 restart
`)
}

func TestLifecyclePlanRemoveStopsFirstOnlyWithStop(t *testing.T) {
	o := stack()
	o.Containers[4] = withStateOf(o.Containers[4], StateExited) // batch
	assertPlan(t, PlanRemove(o, nil, false), `
[] -> #1 container:p-batch-1 remove
`)
	assertPlan(t, PlanRemove(o, []string{"api", "batch"}, true), `
[] -> #1 container:p-api-1 stop
[#1] -> #2 container:p-api-1 remove
[] -> #3 container:p-batch-1 remove
`)
}

func TestLifecyclePlanEachKillsPausesUnpauses(t *testing.T) {
	o := stack()
	o.Containers[0] = withStateOf(o.Containers[0], StatePaused)
	o.Containers[4] = withStateOf(o.Containers[4], StateExited)
	assertPlan(t, PlanEach(o, []string{"db", "batch", "cache"}, OpKill, IsUp), `
[] -> #1 container:p-db-1 kill
[] -> #2 container:p-cache-1 kill
`)
	assertPlan(t, PlanEach(o, nil, OpUnpause, func(c Container) bool { return c.State == StatePaused }), `
[] -> #1 container:p-db-1 unpause
`)
}
