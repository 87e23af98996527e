package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trailscope/trailscope/app"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runDemo(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "demo", false)
	seed := f.Uint64("seed", 1, "seed of the organisation and its attackers")
	days := f.Int("days", 7, "days of history")
	var scenarios stringList
	f.Var(&scenarios, "scenario", "attack scenario to inject (repeatable; default capital-one-2019; 'none' for a clean org): "+
		strings.Join(app.DemoScenarios(), ", "))
	outDir := f.String("out-dir", "", "write S3-layout .json.gz files here instead of a case")
	f.caseOptional = true
	if _, err := f.parse(env, args); err != nil {
		return err
	}
	if (f.casePath == "") == (*outDir == "") {
		return usagef("give either --case FILE or --out-dir DIR")
	}
	if *days < 1 || *days > 366 {
		return usagef("--days %d: want 1 to 366", *days)
	}
	d := app.DemoConfig{Seed: *seed, Days: *days}
	if len(scenarios) > 0 {
		d.Scenarios = []string{}
		for _, s := range scenarios {
			if s != "none" {
				d.Scenarios = append(d.Scenarios, s)
			}
		}
	}
	if err := app.ValidateDemo(d); err != nil {
		return usagef("%v", err)
	}
	if *outDir != "" {
		n, err := app.WriteDemoFiles(ctx, *outDir, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "wrote %d files under %s\n", n, *outDir)
		return nil
	}
	c, err := openCase(ctx, f.casePath, true)
	if err != nil {
		return err
	}
	defer c.Close()
	last := ""
	_, err = c.CreateDemo(ctx, d, func(stage string, frac float64) {
		if env.StderrTTY {
			fmt.Fprintf(env.Stderr, "\r\033[K%-10s %3.0f%%", stage, frac*100)
		} else if stage != last {
			fmt.Fprintf(env.Stderr, "%s…\n", stage)
		}
		last = stage
	})
	if env.StderrTTY && last != "" {
		fmt.Fprintln(env.Stderr)
	}
	if errors.Is(err, app.ErrNotDemoCase) {
		return usagef("%v", err) // the wrong case named, like a wrong flag: nothing was written
	}
	if err != nil {
		return err
	}
	in, err := c.Info(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "demo case %s: %d events from %s to %s\n", c.Path(), in.Events,
		fmtTime(*in.FirstEvent), fmtTime(*in.LastEvent))
	return nil
}
