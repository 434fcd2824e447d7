package project

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// Render prints the project as 'docker compose config' does, in "yaml" or
// "json". Dollar signs are escaped so that the output loads again to the
// same model.
func Render(p *types.Project, format string) ([]byte, error) {
	var (
		content []byte
		err     error
	)
	switch format {
	case "json":
		content, err = p.MarshalJSON()
	case "yaml":
		content, err = p.MarshalYAML()
	default:
		return nil, fmt.Errorf("unsupported format %q: use yaml or json", format)
	}
	if err != nil {
		return nil, fmt.Errorf("render project %q: %w", p.Name, err)
	}
	return bytes.ReplaceAll(content, []byte("$"), []byte("$$")), nil
}

// RenderModel prints an uninterpolated model (config --no-interpolate).
func RenderModel(model map[string]any, format string) ([]byte, error) {
	switch format {
	case "json":
		return json.MarshalIndent(model, "", "  ")
	case "yaml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(model); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unsupported format %q: use yaml or json", format)
}
