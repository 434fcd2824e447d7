package translate

import (
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/runspec"
)

// Docker's defaults.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthRetries       = 3
)

// EffectiveHealthCheck merges the service's healthcheck over the image's,
// key by key, as Docker does; nil means the container has none.
func EffectiveHealthCheck(s *types.HealthCheckConfig, image *runspec.ImageHealth) *runspec.HealthCheck {
	hc := runspec.HealthCheck{Interval: defaultHealthInterval, Timeout: defaultHealthTimeout,
		StartInterval: defaultHealthStartInterval, Retries: defaultHealthRetries}
	if image != nil {
		hc.Test = image.Test
		setDur(&hc.Interval, image.Interval)
		setDur(&hc.Timeout, image.Timeout)
		setDur(&hc.StartPeriod, image.StartPeriod)
		setDur(&hc.StartInterval, image.StartInterval)
		if image.Retries > 0 {
			hc.Retries = image.Retries
		}
	}
	if s != nil {
		if s.Disable {
			return nil
		}
		if len(s.Test) > 0 {
			hc.Test = s.Test
		}
		setDurPtr(&hc.Interval, s.Interval)
		setDurPtr(&hc.Timeout, s.Timeout)
		setDurPtr(&hc.StartPeriod, s.StartPeriod)
		setDurPtr(&hc.StartInterval, s.StartInterval)
		if s.Retries != nil && *s.Retries > 0 { // 0 inherits, as Docker
			hc.Retries = int(*s.Retries)
		}
	}
	if len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	return &hc
}

func setDur(d *time.Duration, v time.Duration) {
	if v > 0 {
		*d = v
	}
}

func setDurPtr(d *time.Duration, v *types.Duration) {
	if v != nil && *v > 0 {
		*d = time.Duration(*v)
	}
}

// argv is the probe's command line: CMD runs as is, CMD-SHELL through
// /bin/sh -c, a bare string (image configs) too.
