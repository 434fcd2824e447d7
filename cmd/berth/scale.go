package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/service"
)

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "Scale services",
		UsageText: "berth scale [OPTIONS] SERVICE=REPLICAS...",
		Description: "Sets the number of containers of each service, numbered 1..N: new replicas are created and\n" +
			"started, the highest-numbered ones removed; other services are left alone.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-deps", Usage: "don't start linked services"},
		},
		Action: runScale,
	}
}

func runScale(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErr{fmt.Errorf("scale needs at least one SERVICE=REPLICAS")}
	}
	scale, err := parseScale(c.Args().Slice())
	if err != nil {
		return err
	}
	opts := loadOptions(c)
	for svc := range scale {
		opts.Services = append(opts.Services, svc)
	}
	opts.NoDeps = c.Bool("no-deps")
	return convergeProject(c, opts, service.UpRequest{Scale: scale})
}
