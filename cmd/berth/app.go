package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run builds the app and executes it, turning errors into exit codes; it is
// main without os.Exit, so tests can drive the whole CLI in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	return report(stderr, err)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	// compose-go warns through logrus; make those lines look like ours
	logrus.SetOutput(stderr)
	logrus.SetFormatter(&warnFormatter{})

	return &cli.App{
		Name:                      "berth",
		Usage:                     "run multi-container applications from a Compose file on containerd",
		UsageText:                 "berth [OPTIONS] COMMAND [ARGS...]",
		Description:               "berth reads the same Compose file as Docker Compose and runs it directly on containerd:\nprivate CNI networks, named volumes and service containers, in dependency order.\n\nRun 'berth COMMAND --help' for more information on a command.",
		Version:                   version,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		DisableSliceFlagSeparator: true,
		UseShortOptionHandling:    true,
		HideHelpCommand:           true,
		Suggest:                   true,
		Flags:                     globalFlags(),
		Before:                    setGlobals,
		Commands:                  commands(),
		OnUsageError:              usageError,
		ExitErrHandler:            func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "berth: unknown command %q; run 'berth --help' for the list of commands\n", name)
			cli.OsExiter(2)
		},
	}
}

func commands() []*cli.Command {
	cmds := []*cli.Command{
		configCommand(),
		upCommand(),
		watchCommand(),
		downCommand(),
		execCommand(),
		attachCommand(),
		runCommand(),
		psCommand(),
		scaleCommand(),
		logsCommand(),
		lsCommand(),
		volumeCommand(),
		volumesCommand(),
		networkCommand(),
		portCommand(),
		pullCommand(),
		pushCommand(),
		buildCommand(),
		builderCommand(),
		imagesCommand(),
		imageCommand(),
		versionCommand(),
		exportCommand(),
		doctorCommand(),
		helperCommand(),
	}
	cmds = append(cmds, lifecycleCommands()...)
	cmds = append(cmds, kubeCommands()...)
	cmds = append(cmds, refusalCommands()...)
	for _, c := range cmds {
		setUsageHandler(c)
	}
	return cmds
}

// setUsageHandler makes every subcommand report flag mistakes as usage
// errors (exit 2), as the app does.
func setUsageHandler(c *cli.Command) {
	c.OnUsageError = usageError
	for _, sub := range c.Subcommands {
		setUsageHandler(sub)
	}
}

// usageErr marks errors that are the user's command line, not the project.
type usageErr struct{ err error }

func (e usageErr) Error() string { return e.err.Error() }
func (e usageErr) Unwrap() error { return e.err }

func usageError(_ *cli.Context, err error, _ bool) error {
	return usageErr{err}
}

// exitCodeErr carries an exit code berth relays from elsewhere (a container,
// a one-off command) without printing anything.
type exitCodeErr struct{ code int }

func (e exitCodeErr) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// report prints err in one or two lines and returns the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var code exitCodeErr
	if errors.As(err, &code) {
		return code.code
	}
	var ue usageErr
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "berth: %s\nRun 'berth --help' for usage.\n", ue.err)
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "berth: interrupted")
		return 130
	}
	fmt.Fprintln(stderr, strings.TrimSpace(err.Error()))
	return 1
}

// warnFormatter prints compose-go's warnings as one plain line each.
type warnFormatter struct{}

func (warnFormatter) Format(e *logrus.Entry) ([]byte, error) {
	// containerd's local content store (a build's local cache export) notes that the
	// filesystem lacks fs-verity, which it does not need: not the user's business
	if strings.Contains(e.Message, "fsverity") {
		return nil, nil
	}
	level := "warning"
	if e.Level <= logrus.ErrorLevel {
		level = "error"
	}
	return []byte(level + ": " + e.Message + "\n"), nil
}

func init() {
	// urfave/cli calls os.Exit on its own for some paths (unknown command)
	cli.OsExiter = os.Exit
}
