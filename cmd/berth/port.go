package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "Print the public port for a port binding",
		UsageText: "berth port [OPTIONS] SERVICE PRIVATE_PORT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "protocol", Value: "tcp", Usage: "`PROTOCOL`: tcp or udp"},
			&cli.IntFlag{Name: "index", Value: 1, Usage: "`INDEX` of the container if the service has several replicas"},
		},
		Action: runPort,
	}
}

func runPort(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErr{fmt.Errorf("port needs a service and a private port")}
	}
	svc := c.Args().Get(0)
	private, err := strconv.Atoi(strings.TrimSuffix(c.Args().Get(1), "/"+c.String("protocol")))
	if err != nil {
		return usageErr{fmt.Errorf("invalid private port %q", c.Args().Get(1))}
	}
	name, eng, done, err := projectEngine(c)
	if err != nil {
		return err
	}
	defer done()
	ctr, err := eng.ServiceContainer(c.Context, name, svc, c.Int("index"))
	if err != nil {
		return err
	}
	for _, p := range publishersOf(ctr.Ports) {
		if p.TargetPort == private && p.Protocol == c.String("protocol") {
			fmt.Fprintf(c.App.Writer, "%s:%d\n", p.URL, p.PublishedPort)
			return nil
		}
	}
	return fmt.Errorf("no port %d/%s published for service %q", private, c.String("protocol"), svc)
}
