package network

import "fmt"

// Validate checks a spec as Ensure will, so a caller can refuse a bad
// project before it creates anything.
func (s Spec) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("network %q: %w", s.Name, err)
	}
	return nil
}
