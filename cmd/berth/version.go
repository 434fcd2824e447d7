package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "Show the berth version information",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "output `FORMAT`: pretty or json"},
			&cli.BoolFlag{Name: "short", Usage: "show only the version number"},
		},
		Action: func(c *cli.Context) error {
			w := c.App.Writer
			switch {
			case c.Bool("short"):
				fmt.Fprintln(w, version)
			case c.String("format") == "json":
				fmt.Fprintf(w, "{\"version\":%q,\"go\":%q,\"platform\":%q}\n", version, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
			default:
				fmt.Fprintf(w, "berth version %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			}
			return nil
		},
	}
}
