package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/berth-dev/berth/internal/progress"
)

// --ansi values, as Docker Compose's.
const (
	ansiAuto   = "auto"
	ansiNever  = "never"
	ansiAlways = "always"
)

func ansiMode(c *cli.Context) (string, error) {
	switch mode := c.String(flagAnsi); mode {
	case ansiAuto, ansiNever, ansiAlways:
		return mode, nil
	default:
		return "", fmt.Errorf("invalid --ansi %q: use never, always or auto", mode)
	}
}

// useColor says whether output to w gets colours: --ansi always forces
// them, never (or NO_COLOR, https://no-color.org) drops them, auto follows
// whether w is a terminal.
func useColor(c *cli.Context, w io.Writer) bool {
	mode, _ := ansiMode(c)
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	switch mode {
	case ansiAlways:
		return true
	case ansiNever:
		return false
	}
	return isTerminal(w)
}

// progressMode resolves --progress against --ansi as Docker Compose does:
// auto draws in place only when ANSI is allowed and stderr is a terminal;
// asking for a redrawn display without ANSI, or plain lines with ANSI
// forced, is a contradiction.
func progressMode(mode, ansi string, tty bool) (string, error) {
	switch {
	case (mode == progress.ModeAuto || mode == "") && ansi == ansiNever:
		return progress.ModePlain, nil
	case (mode == progress.ModeAuto || mode == "") && tty:
		return progress.ModeTTY, nil
	case mode == progress.ModeAuto || mode == "":
		return progress.ModePlain, nil
	case mode == progress.ModeTTY && ansi == ansiNever:
		return "", fmt.Errorf("can't use --progress tty while ANSI support is disabled")
	case mode == progress.ModePlain && ansi == ansiAlways:
		return "", fmt.Errorf("can't use --progress plain while ANSI support is forced")
	}
	return mode, nil
}
