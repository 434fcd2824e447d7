package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/urfave/cli/v2"
)

// waitReady is start --wait: the engine waits, the CLI gives Docker Compose's
// sentence when the timeout ends it.
func waitReady(c *cli.Context, projectName string, p *types.Project, services []string, timeout time.Duration) error {
	eng, done, err := newEngine(c)
	if err != nil {
		return err
	}
	defer done()
	err = eng.WaitReady(c.Context, projectName, p, services, timeout)
	if errors.Is(err, context.DeadlineExceeded) && c.Context.Err() == nil {
		return fmt.Errorf("application not healthy after %s", timeout)
	}
	return err
}

// waitTimeoutError puts Docker Compose's sentence first when --wait-timeout
// ended the wait (scripts match it), and keeps what berth knows after it.
func waitTimeoutError(c *cli.Context, err error, secs int) error {
	if err == nil || secs <= 0 || !errors.Is(err, context.DeadlineExceeded) || c.Context.Err() != nil {
		return err
	}
	msg := fmt.Sprintf("application not healthy after %s", time.Duration(secs)*time.Second)
	if detail := err.Error(); detail != context.DeadlineExceeded.Error() {
		msg += ": " + detail
	}
	return errors.New(msg)
}
