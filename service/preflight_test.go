package service

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/service/plan"
)

type failingPreflight struct {
	Networks
	err error
}

func (f failingPreflight) Preflight() error { return f.err }

func TestPreflight(t *testing.T) {
	startPlan := &Plan{Ops: []*Op{{Kind: plan.OpCreate, Resource: plan.ResContainer}, {Kind: plan.OpStart, Resource: plan.ResContainer}}}
	netPlan := &Plan{Ops: []*Op{{Kind: plan.OpCreate, Resource: plan.ResNetwork}}}
	noLogger := errors.New("berth-logger not found")
	noBridge := errors.New("bridge plugin missing")
	tests := []struct {
		name string
		e    *Engine
		plan *Plan
		want string
	}{
		{"a start needs the logger", &Engine{LoggerErr: noLogger}, startPlan, "berth-logger not found"},
		{"no start, no logger needed", &Engine{LoggerErr: noLogger}, netPlan, ""},
		{"a new network needs the backend", &Engine{Networks: failingPreflight{err: noBridge}}, netPlan, "bridge plugin missing"},
		{"no new network, no backend check", &Engine{Networks: failingPreflight{err: noBridge}}, startPlan, ""},
		{"all there", &Engine{Networks: failingPreflight{}}, netPlan, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.preflight(tt.plan)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("preflight = %v, want %q", err, tt.want)
			}
		})
	}
}
