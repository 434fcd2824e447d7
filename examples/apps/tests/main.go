// tests is the notes API's integration test suite. It runs inside the stack, next to the
// API on the private network, and talks to it at $API_URL as any client would. It prints
// TAP (https://testanything.org) and exits with the number of failed tests (at most 125:
// shells and Docker give higher codes other meanings), so `berth up --exit-code-from
// tests` turns the suite's result into the CI job's.
//
// FAIL_ONE=1 adds a test that fails on purpose, to see what a red run looks like.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
)

// maxExitCode keeps the exit code in the range that means "the program said so".
const maxExitCode = 125

// testCase is one test; it returns nil when it passes.
type testCase struct {
	name string
	run  func(ctx context.Context, s *suite) error
}

func main() {
	ctx, stop := lifecycle.Context()
	defer stop()
	s := &suite{
		base:   strings.TrimSuffix(lifecycle.Env("API_URL", "http://api:8080"), "/"),
		client: &http.Client{Timeout: 5 * time.Second},
	}
	cases := allCases()
	if os.Getenv("FAIL_ONE") == "1" {
		cases = append(cases, testCase{"deliberately failing test (FAIL_ONE=1)", failOnPurpose})
	}
	os.Exit(runAll(ctx, s, cases, os.Stdout))
}

// runAll runs the cases in order (later ones use what earlier ones created) and returns
// the exit code. A signal ends the run with "Bail out!" and a failure: a suite that did
// not finish has not passed.
func runAll(ctx context.Context, s *suite, cases []testCase, out io.Writer) int {
	fmt.Fprintf(out, "TAP version 13\n1..%d\n", len(cases))
	fmt.Fprintf(out, "# testing the notes API at %s\n", s.base)
	failed := 0
	for i, tc := range cases {
		err := tc.run(ctx, s)
		if ctx.Err() != nil {
			fmt.Fprintln(out, "Bail out! stopped by a signal")
			return 1
		}
		if err == nil {
			fmt.Fprintf(out, "ok %d - %s\n", i+1, tc.name)
			continue
		}
		failed++
		fmt.Fprintf(out, "not ok %d - %s\n  ---\n  message: %q\n  ...\n", i+1, tc.name, err.Error())
	}
	fmt.Fprintf(out, "# %d passed, %d failed\n", len(cases)-failed, failed)
	return min(failed, maxExitCode)
}

func failOnPurpose(ctx context.Context, s *suite) error {
	_, body, err := s.do(ctx, http.MethodGet, "/api/stats", "")
	if err != nil {
		return err
	}
	return fmt.Errorf("want stats to say 1000000 notes, got %s", strings.TrimSpace(body))
}
