package synth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/trailscope/trailscope/data/synth"
)

// A day of a small organisation's traffic with the Capital One story injected at a fixed time.
func ExampleGenerate() {
	cfg := synth.Config{
		Seed:         2019,
		Days:         1,
		End:          time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC),
		EventsPerDay: 2000,
		Scenarios:    []synth.ScenarioSpec{{Name: "capital-one-2019", At: time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC)}},
	}
	events := 0
	labels, err := synth.Generate(context.Background(), cfg, func(t time.Time, raw []byte) error {
		events++
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range labels {
		if !l.Benign {
			fmt.Println(l.Scenario, l.Start.Format(time.RFC3339), len(l.KeyEventIDs) > 50)
		}
	}
	fmt.Println(events > 1500)
	// Output:
	// capital-one-2019 2024-05-09T20:25:00Z true
	// true
}
