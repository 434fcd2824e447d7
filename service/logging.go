package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/atomicfile"
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
	if rot == defaultRotation() {
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

// defaultRotation is the rotation of a service without logging options, and of a
// container without logging.json.
func defaultRotation() logs.RotateOptions {
	rot, _ := logs.ParseRotateOptions(nil)
	return rot
}

func (e *Engine) loggingFile(name string) string {
	return filepath.Join(e.containerDir(name), "logging.json")
}

// logDriver is how the container's output is captured, with the rotation saved
// at its creation.
func (e *Engine) logDriver(name string) (ctrd.LogDriver, error) {
	rot := defaultRotation()
	if b, err := os.ReadFile(e.loggingFile(name)); err == nil {
		_ = json.Unmarshal(b, &rot)
	}
	return e.logDriverWith(name, rot)
}

func (e *Engine) logDriverWith(name string, rot logs.RotateOptions) (ctrd.LogDriver, error) {
	if e.LoggerErr != nil {
		return ctrd.LogDriver{}, e.LoggerErr
	}
	if e.Logger == "" {
		return ctrd.LogDriver{File: e.LogPath(name)}, nil
	}
	return ctrd.LogDriver{Binary: e.Logger, Args: logs.LoggerArgs(e.LogPath(name), rot)}, nil
}
