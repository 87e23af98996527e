package baseline

import (
	"context"
	"fmt"
	"time"
)

// Three days of an organisation's ordinary traffic, then an instance role's credentials used
// from outside to list buckets and read objects: the engine puts that on top, explained.
func ExampleAnalyze() {
	evs := append(genNormal(1, 3, end), genExfil(end.Add(-3*time.Hour-27*time.Minute))...)
	sortEvents(evs)
	res, err := Analyze(context.Background(), sliceEvents(evs), Options{})
	if err != nil {
		panic(err)
	}
	a := res.Anomalies[0]
	fmt.Println(a.Risk, a.Direction, a.EntityType, a.WindowStart.Format(time.RFC3339), len(a.EventIDs))
	fmt.Println(a.Title)
	for _, f := range a.Factors[:3] {
		fmt.Printf("%s: %v (%s)\n", f.Name, f.Observed, f.Label)
	}
	// Output:
	// 10 outbound principal 2024-05-09T20:30:00Z 152
	// Instance role app-a from a new external address, with a new user agent calling ListBuckets (new) and GetObject ×151; GetObject per 5 min by this principal 119 vs 1.6 usual
	// GetObject per 5 min by this principal: 119 (spike)
	// GetObject per 5 min: 119 (spike)
	// source network: 203.0.113.7 (new)
}
