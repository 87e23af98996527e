package ui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailscope/trailscope/app"
)

// TestBridgeCloseAfterLoop: once the event loop has ended, Fyne drops the hand-offs still
// queued. Closing the bridge waits for the work, which stops on cancel, not for them.
func TestBridgeCloseAfterLoop(t *testing.T) {
	b := newBridge()
	b.post = func(func()) {} // the loop has ended: nothing posted runs
	started := make(chan struct{})
	stopped := make(chan struct{})
	run(b, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		close(stopped)
		return 0, ctx.Err()
	}, nil)
	b.later(time.Hour, func() {})
	<-started

	begin := time.Now()
	b.close(5 * time.Second)
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("close took %v: it waited for hand-offs that will never run", took)
	}
	select {
	case <-stopped:
	default:
		t.Error("close returned before the work had stopped")
	}
}

// TestOpenCasesCloseOnce: a case closed by its view and again by a shutdown is closed once,
// and a shutdown closes what no view holds (a case opened as the window closed).
func TestOpenCasesCloseOnce(t *testing.T) {
	ctx := context.Background()
	var o openCases
	a, err := app.Open(ctx, filepath.Join(t.TempDir(), "a.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := app.Open(ctx, filepath.Join(t.TempDir(), "b.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	o.add(a)
	o.add(b)
	o.close(a)
	o.close(a)
	if _, err := a.Info(ctx); err == nil {
		t.Error("case a still answers after close")
	}
	if _, err := b.Info(ctx); err != nil {
		t.Fatalf("case b closed with a: %v", err)
	}
	o.closeAll()
	if _, err := b.Info(ctx); err == nil {
		t.Error("case b still answers after closeAll")
	}
	if len(o.m) != 0 {
		t.Errorf("%d cases left open", len(o.m))
	}
}
