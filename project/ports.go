package project

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// portHint follows a port error: what a valid one looks like.
const portHint = "ports are numbers from 1 to 65535, or ranges of them (8000-8010)"

// locatePortError finds the ports entry compose-go could not parse
// ("invalid hostPort: 99999" names neither the file nor the service) by
// parsing every short-syntax entry of the files again.
func locatePortError(files []string, err error) error {
	for i := len(files) - 1; i >= 0; i-- {
		if e := findBadPort(files[i], err.Error()); e != nil {
			e.Err = err
			return e
		}
	}
	return err
}

func findBadPort(file, msg string) *Error {
	if file == "-" {
		return nil
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(content, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	services, _ := child(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		name := services.Content[i].Value
		ports, _ := child(services.Content[i+1], "ports")
		if ports == nil || ports.Kind != yaml.SequenceNode {
			continue
		}
		for j, entry := range ports.Content {
			if entry.Kind != yaml.ScalarNode {
				continue
			}
			if _, perr := types.ParsePortConfig(entry.Value); perr != nil && perr.Error() == msg {
				return &Error{File: file, Line: entry.Line, Path: fmt.Sprintf("services.%s.ports.%d", name, j),
					Msg: fmt.Sprintf("%s in %q: %s", msg, entry.Value, portHint)}
			}
		}
	}
	return nil
}

// checkPorts refuses published ports out of range, which compose-go lets
// through in the long syntax and which would fail only when the container
// is attached, after others were created.
func checkPorts(files []string, p *types.Project) error {
	for _, name := range p.ServiceNames() {
		for i, port := range p.Services[name].Ports {
			if err := checkPublished(port.Published); err != nil {
				return locate(files, &Error{Path: fmt.Sprintf("services.%s.ports.%d", name, i),
					Msg: fmt.Sprintf("invalid published port %q: %s", port.Published, portHint)})
			}
			if port.Target == 0 || port.Target > 65535 {
				return locate(files, &Error{Path: fmt.Sprintf("services.%s.ports.%d", name, i),
					Msg: fmt.Sprintf("invalid target port %d: %s", port.Target, portHint)})
			}
		}
	}
	return nil
}

func checkPublished(published string) error {
	if published == "" {
		return nil
	}
	first, last, isRange := strings.Cut(published, "-")
	lo, err := strconv.Atoi(first)
	if err != nil || lo < 0 || lo > 65535 {
		return fmt.Errorf("invalid port %q", published)
	}
	if !isRange {
		return nil
	}
	hi, err := strconv.Atoi(last)
	if err != nil || hi < lo || hi > 65535 {
		return fmt.Errorf("invalid port range %q", published)
	}
	return nil
}
