package ui

import (
	"context"

	"github.com/trailscope/trailscope/app"
)

// defaultDemoBuilder generates the demo case on first run: a week of the synthetic
// organisation with the 2019 intrusion in the last day, loaded and analysed.
var defaultDemoBuilder demoBuilder = func(ctx context.Context, path string, p func(string, float64)) error {
	c, err := app.Open(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.CreateDemo(ctx, app.DemoConfig{Seed: 1}, p)
}
