// Trailscope investigates AWS CloudTrail: with no arguments it opens the desktop app, otherwise
// it runs a headless command (see `trailscope help`).
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/trailscope/trailscope/app/cli"
	"github.com/trailscope/trailscope/ui"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && cli.IsCommand(args[0]) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		code := cli.Main(ctx, cli.DefaultEnv(), args)
		stop()
		os.Exit(code)
	}
	os.Exit(ui.Run(args))
}
