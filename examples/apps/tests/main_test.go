package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/examples/apps/internal/kv"
	"github.com/berth-dev/berth/examples/apps/internal/notes"
)

// The suite against the real API code (with a directory for a store) must pass; with
// the deliberate failure it must fail with exit code 1.
func TestSuiteAgainstTheAPI(t *testing.T) {
	api := &notes.API{Store: kv.Dir{Path: t.TempDir()}, Hostname: "api-1"}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	for _, tt := range []struct {
		name  string
		cases []testCase
		code  int
		want  string
	}{
		{"green", allCases(), 0, "# 8 passed, 0 failed"},
		{"red", append(allCases(), testCase{"deliberately failing test (FAIL_ONE=1)", failOnPurpose}), 1,
			"not ok 9 - deliberately failing test (FAIL_ONE=1)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			s := &suite{base: srv.URL, client: srv.Client()}
			if code := runAll(t.Context(), s, tt.cases, &out); code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.code, out.String())
			}
			if !strings.HasPrefix(out.String(), "TAP version 13\n1..") {
				t.Errorf("not TAP:\n%s", out.String())
			}
		})
	}
}

func TestExitCodeIsCapped(t *testing.T) {
	fail := testCase{"fails", func(context.Context, *suite) error { return http.ErrServerClosed }}
	cases := make([]testCase, 130)
	for i := range cases {
		cases[i] = fail
	}
	var out strings.Builder
	if code := runAll(t.Context(), &suite{}, cases, &out); code != maxExitCode {
		t.Errorf("130 failures: exit %d, want %d", code, maxExitCode)
	}
}

func TestSignalBailsOut(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out strings.Builder
	pass := testCase{"passes", func(context.Context, *suite) error { return nil }}
	if code := runAll(ctx, &suite{}, []testCase{pass}, &out); code != 1 || !strings.Contains(out.String(), "Bail out!") {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}
