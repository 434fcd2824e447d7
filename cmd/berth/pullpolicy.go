package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/ctrd"
)

// pullPolicy applies pull --policy: "missing" leaves out the images
// containerd already has; "always" (or none) pulls them all.
func pullPolicy(c *cli.Context, client *ctrd.Client, lists ...[]string) ([]string, []string, error) {
	switch policy := c.String("policy"); policy {
	case "", "always":
		return lists[0], lists[1], nil
	case "missing":
	default:
		return nil, nil, usageErr{fmt.Errorf("invalid --policy %q: use missing or always", policy)}
	}
	out := make([][]string, len(lists))
	for i, refs := range lists {
		for _, ref := range refs {
			_, err := client.ImageConfig(c.Context, ref)
			switch {
			case ctrd.IsNotFound(err):
				out[i] = append(out[i], ref)
			case err != nil:
				return nil, nil, err
			}
		}
	}
	return out[0], out[1], nil
}
