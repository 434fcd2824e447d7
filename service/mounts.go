package service

import (
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/internal/translate"
)

// ensureBindSource creates a missing host directory for the short syntax
// (as Docker does) and otherwise reports it.
func ensureBindSource(m translate.Mount) error {
	_, err := os.Stat(m.Source)
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bind mount %s: %w", m.Source, err)
	}
	if !m.Create {
		return fmt.Errorf("bind mount source path does not exist: %s", m.Source)
	}
	if err := os.MkdirAll(m.Source, 0o755); err != nil {
		return fmt.Errorf("create bind mount source %s: %w", m.Source, err)
	}
	return nil
}
