package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/ctrd"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/service/runstate"
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
	if rot == runstate.DefaultRotation() {
		// the usual case needs no file (one fewer per container); one a killed
		// berth left under this name must not apply
		if err := os.Remove(e.loggingFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rot, err
		}
		return rot, nil
	}
	// lost to a crash of the machine, the rotation falls back to its defaults
	// (logDriver ignores an unreadable file)
	return rot, atomicfile.ReplaceJSON(e.loggingFile(name), rot, 0o600)
}

func (e *Engine) loggingFile(name string) string { return e.store().RotationFile(name) }

// logDriver is how the container's output is captured, with the rotation saved
// at its creation.
func (e *Engine) logDriver(name string) (ctrd.LogDriver, error) { return e.store().LogDriver(name) }

func (e *Engine) logDriverWith(name string, rot logs.RotateOptions) (ctrd.LogDriver, error) {
	return e.store().LogDriverWith(name, rot)
}
