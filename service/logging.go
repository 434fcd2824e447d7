package service

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/logs"
)

// writeLogging saves the container's log rotation (from logging.options)
// beside its log: every later start, by up, start or the helper, uses it.
func (e *Engine) writeLogging(s types.ServiceConfig, name string) (logs.RotateOptions, error) {
	var opts map[string]string
	if s.Logging != nil {
		opts = s.Logging.Options
	}
	rot, err := logs.ParseRotateOptions(opts)
	if err != nil {
		return rot, fmt.Errorf("service %q: logging.options: %w", s.Name, err)
	}
	for _, k := range logs.UnsupportedOptions(opts) {
		e.warn(fmt.Sprintf("service %q: logging.options.%s is not supported and is ignored", s.Name, k))
	}
	return rot, e.store().SaveRotation(name, rot)
}

// logDriver is how the container's output is captured, with the rotation saved
// at its creation.
func (e *Engine) logDriver(name string) (ctrd.LogDriver, error) { return e.store().LogDriver(name) }

func (e *Engine) logDriverWith(name string, rot logs.RotateOptions) (ctrd.LogDriver, error) {
	return e.store().LogDriverWith(name, rot)
}
