package ui

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
)

// bridge is the one layer between the app core and the widgets: work that touches the case runs
// in a goroutine and its result comes back to the UI goroutine through fyne.Do, here and nowhere
// else. It counts the work in flight, so that tests can tell when it is idle and a closing window
// can wait for the work.
type bridge struct {
	ctx    context.Context // cancelled when the window closes
	cancel context.CancelFunc
	busy   atomic.Int64 // work and hand-offs in flight
	// workers counts the work alone: once the window has closed, Fyne drops the hand-offs still
	// queued, so a closing window waits for the work and not for them.
	workers sync.WaitGroup
	// post runs fn on the UI goroutine: fyne.Do, except in tests, where the test goroutine
	// plays the UI goroutine (the test driver's fyne.Do would run fn at once on the worker).
	post func(fn func())
}

func newBridge() *bridge {
	ctx, cancel := context.WithCancel(context.Background())
	return &bridge{ctx: ctx, cancel: cancel, post: fyne.Do}
}

func (b *bridge) begin() { b.busy.Add(1) }
func (b *bridge) end()   { b.busy.Add(-1) }

// idle reports whether no work or hand-off is in flight.
func (b *bridge) idle() bool { return b.busy.Load() == 0 }

// run calls work off the UI goroutine and then done on the UI goroutine with its result. done is
// skipped when the window has closed meanwhile.
func run[T any](b *bridge, work func(ctx context.Context) (T, error), done func(T, error)) {
	b.begin()
	b.workers.Add(1)
	go func() {
		v, err := work(b.ctx)
		b.workers.Done()
		b.post(func() {
			defer b.end()
			if b.ctx.Err() == nil && done != nil {
				done(v, err)
			}
		})
	}()
}

// later calls fn on the UI goroutine after d, unless the window has closed by then.
func (b *bridge) later(d time.Duration, fn func()) {
	b.begin()
	time.AfterFunc(d, func() {
		b.post(func() {
			defer b.end()
			if b.ctx.Err() == nil {
				fn()
			}
		})
	})
}

// close cancels the work in flight and waits up to timeout for it to stop; it may be called from
// any goroutine.
func (b *bridge) close(timeout time.Duration) {
	b.cancel()
	waitFor(&b.workers, timeout)
}

// waitFor waits for wg, at most timeout.
func waitFor(wg *sync.WaitGroup, timeout time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// throttle hands the latest of a stream of values (progress reports from worker goroutines) to
// apply on the UI goroutine, at most once per interval: reports in between replace each other,
// and the last one is always delivered.
type throttle[T any] struct {
	b        *bridge
	interval time.Duration
	apply    func(T)

	mu      sync.Mutex
	last    T
	pending bool
	stopped bool
	lastAt  time.Time
}

// stop ends the stream when its job has ended: a report still waiting is applied now, and any
// later hand-off does nothing, so a late report cannot overwrite the final state. Call it on
// the UI goroutine.
func (t *throttle[T]) stop() {
	t.mu.Lock()
	pending, v := t.pending, t.last
	t.stopped = true
	t.mu.Unlock()
	if pending && t.b.ctx.Err() == nil {
		t.apply(v)
	}
}

func newThrottle[T any](b *bridge, interval time.Duration, apply func(T)) *throttle[T] {
	return &throttle[T]{b: b, interval: interval, apply: apply}
}

// push records v; it may be called from any goroutine.
func (t *throttle[T]) push(v T) {
	t.mu.Lock()
	t.last = v
	if t.pending {
		t.mu.Unlock()
		return
	}
	t.pending = true
	wait := t.interval - time.Since(t.lastAt)
	t.mu.Unlock()
	t.b.begin()
	fire := func() {
		t.b.post(func() {
			defer t.b.end()
			t.mu.Lock()
			v := t.last
			t.pending = false
			t.lastAt = time.Now()
			stopped := t.stopped
			t.mu.Unlock()
			if t.b.ctx.Err() == nil && !stopped {
				t.apply(v)
			}
		})
	}
	if wait > 0 {
		time.AfterFunc(wait, fire)
	} else {
		go fire()
	}
}
