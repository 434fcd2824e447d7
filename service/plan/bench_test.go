package plan

import (
	"fmt"
	"testing"

	"github.com/berth-dev/berth/internal/record"
)

// benchDesired is a project of n independent services on one network, or a chain in
// which each service waits for the previous one to start.
func benchDesired(n int, chain bool) Desired {
	d := Desired{Project: "p", Networks: []Resource{{Name: "p_default"}}}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("s%d", i)
		var deps []Dep
		if chain && i > 1 {
			deps = []Dep{{Service: fmt.Sprintf("s%d", i-1), Condition: ConditionStarted, Required: true}}
		}
		d.Services = append(d.Services, svc(name, deps...))
		d.AllServices = append(d.AllServices, name)
	}
	return d
}

func benchObserved(d Desired) Observed {
	o := Observed{Networks: map[string]bool{"p_default": true}}
	for _, s := range d.Services {
		o.Containers = append(o.Containers, Container{Container: record.Container{
			Name: s.ContainerNames[0], Service: s.Name, Number: 1,
			ConfigHash: s.Hash, ImageID: s.ImageID}, State: StateRunning,
		})
	}
	return o
}

func benchPlanUp(b *testing.B, d Desired, o Observed) {
	for b.Loop() {
		if _, err := PlanUp(d, o, UpOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanUp50Fresh plans a first up: every container created and started.
func BenchmarkPlanUp50Fresh(b *testing.B) { benchPlanUp(b, benchDesired(50, false), Observed{}) }

// BenchmarkPlanUp50Chain plans a first up of a 50-service dependency chain.
func BenchmarkPlanUp50Chain(b *testing.B) { benchPlanUp(b, benchDesired(50, true), Observed{}) }

// BenchmarkPlanUp50NoOp plans an up with everything already running: the no-op path.
func BenchmarkPlanUp50NoOp(b *testing.B) {
	d := benchDesired(50, false)
	benchPlanUp(b, d, benchObserved(d))
}
