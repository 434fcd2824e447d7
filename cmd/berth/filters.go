package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/project"
)

// declaredServices is what ps --orphans=false keeps: the services the
// Compose file declares, in any profile; nil keeps every container (the
// default, or no Compose file to tell orphans by).
func declaredServices(c *cli.Context) ([]string, error) {
	if c.Bool("orphans") {
		return nil, nil
	}
	opts := loadOptions(c)
	opts.All = true
	p, err := project.Load(c.Context, opts)
	if errors.Is(err, project.ErrNoConfigFile) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return append(p.ServiceNames(), p.DisabledServiceNames()...), nil
}

// lsFilter reads ls --filter as Docker Compose does: name=VALUE keeps the
// projects whose name is VALUE or matches it as a regular expression;
// several values of one key are alternatives.
func lsFilter(values []string) (func(name string) bool, error) {
	var names []string
	for _, f := range values {
		key, value, ok := strings.Cut(f, "=")
		if !ok || key != "name" {
			return nil, usageErr{fmt.Errorf("invalid filter %q: berth ls filters by name=VALUE only", f)}
		}
		names = append(names, value)
	}
	return func(name string) bool {
		if len(names) == 0 {
			return true
		}
		for _, n := range names {
			if n == name {
				return true
			}
			if ok, err := regexp.MatchString(n, name); err == nil && ok {
				return true
			}
		}
		return false
	}, nil
}
