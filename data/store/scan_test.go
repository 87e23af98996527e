package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// TestScanEvents checks the pipelined scan gives every event once in time order, and that an
// error from the callback stops it and comes back.
func TestScanEvents(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "c.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ld, err := st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	t0 := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	for i := range n {
		// Inserted out of time order, so the scan must sort.
		at := t0.Add(time.Duration((i*7919)%n) * time.Second)
		raw := fmt.Sprintf(`{"eventID":"e%05d","eventTime":%q,"eventName":"X","eventSource":"s"}`, i, at.Format(time.RFC3339))
		e, err := cloudtrail.Extract([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ld.Event(&e, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := ld.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var last time.Time
	err = st.ScanEvents(ctx, func(e *cloudtrail.Event) error {
		if e.Time.Before(last) {
			return fmt.Errorf("%s at %v after %v", e.EventID, e.Time, last)
		}
		last = e.Time
		seen[e.EventID] = true
		return nil
	})
	if err != nil || len(seen) != n {
		t.Fatalf("scan saw %d of %d events: %v", len(seen), n, err)
	}
	stop := errors.New("enough")
	calls := 0
	err = st.ScanEvents(ctx, func(*cloudtrail.Event) error {
		calls++
		if calls == 1500 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 1500 {
		t.Errorf("stopping scan: %v after %d calls", err, calls)
	}
}
