package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// refusedCommands are Docker Compose commands berth deliberately does not
// have: each answers with the reason and what to do instead, rather than
// "unknown command". docs/compat.md lists them with the same reasons.
var refusedCommands = []struct{ name, usage, reason string }{
	{"commit", "Create a new image from a service container's changes",
		"berth makes images from Dockerfiles only (build: with 'berth build'), so that every image can be made again from the repository; " +
			"to save a container's files, use 'berth export SERVICE -o FILE' or 'berth cp'"},
	{"publish", "Publish the Compose application as an OCI artifact",
		"the artifact is Docker's own format, which only Docker Compose reads (with -f oci://...); " +
			"share the Compose file through the repository, and the images through a registry"},
}

func refusalCommands() []*cli.Command {
	var cmds []*cli.Command
	for _, r := range refusedCommands {
		cmds = append(cmds, &cli.Command{
			Name:            r.name,
			Usage:           r.usage + " (not supported)",
			Hidden:          true,
			SkipFlagParsing: true,
			Action: func(*cli.Context) error {
				return fmt.Errorf("berth %s is not supported: %s", r.name, r.reason)
			},
		})
	}
	return cmds
}
