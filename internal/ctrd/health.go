package ctrd

import (
	"context"
	"encoding/json"

	"github.com/containerd/containerd/v2/core/content"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/runspec"
)

// HealthConfig is a Docker image's HEALTHCHECK.
type HealthConfig = runspec.ImageHealth

// healthcheck reads the HEALTHCHECK of a Docker image config blob.
func (c *Client) healthcheck(ctx context.Context, config ocispec.Descriptor) (*HealthConfig, error) {
	b, err := content.ReadBlob(ctx, c.blobs, config)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Config struct {
			Healthcheck *HealthConfig `json:"Healthcheck"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	hc := doc.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil, nil
	}
	return hc, nil
}
