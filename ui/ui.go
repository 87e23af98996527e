// Package ui is Trailscope's desktop interface (Fyne): the case window, the overview dashboard,
// drilldowns, the sources and settings screens. It reads and writes cases through app only, and
// every call that touches a case runs off the UI goroutine through the bridge (bridge.go).
package ui

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	_ "github.com/trailscope/trailscope/ui/locale" // initialised before Fyne reads the locale
)

// appID is the stable application ID; it matches FyneApp.toml and keys the preferences.
const appID = "io.trailscope.app"

// demoBuilder writes the demo case at path, reporting each stage and its share done.
type demoBuilder func(ctx context.Context, path string, progress func(stage string, frac float64)) error

// options configure the desktop app. Run fills them from flags and the environment; tests set
// them directly.
type options struct {
	casePath  string      // open this case instead of the last one
	demoDir   string      // where the demo case is generated on first run
	buildDemo demoBuilder // generates the demo case; nil when this build has none
	stderr    io.Writer   // receives the "dashboard ready" line
	size      fyne.Size   // initial window size
	// watchEvery is how often the open case is checked for changes made elsewhere; 0 never
	// (tests check by hand).
	watchEvery time.Duration
}

// Run opens the desktop app and returns the process exit code when its window closes.
// It accepts --case FILE (or the TRAILSCOPE_CASE environment variable) and --size WxH.
func Run(args []string) int {
	opt, err := parseOptions(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trailscope:", err)
		return 2
	}
	a := fyneapp.NewWithID(appID)
	applyTheme(a, a.Preferences().StringWithFallback(prefTheme, themeSystem))
	w := a.NewWindow("Trailscope")
	s := newShell(a, w, opt)
	w.Resize(opt.size)

	// SIGTERM and Ctrl+C close the window the normal way, so the case is closed cleanly.
	returned := make(chan struct{})
	var leaving sync.Once
	leave := func() { leaving.Do(func() { go s.exitIfStuck(returned) }) }
	w.SetOnClosed(leave)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		if _, ok := <-sig; ok {
			leave() // Fyne quits on these signals too, without closing the window first
			s.b.post(a.Quit)
		}
	}()
	s.start()
	w.ShowAndRun()
	close(returned)
	signal.Stop(sig)
	close(sig)
	s.shutdown()
	return 0
}

// quitGrace is how long the event loop has to stop once the window has closed and the case with
// it, before the process exits anyway.
const quitGrace = 3 * time.Second

// exitIfStuck closes the case as the window closes and then gives Fyne's event loop quitGrace to
// return. Fyne 2.7.1 can hang as it stops (its last lifecycle callback, which saves the
// preferences, is queued on the loop that has just ended and waited for without end: seen once
// in CI and once in about 200 quits here under Xvfb): a window gone and a process left running
// would keep the case open and a script waiting.
func (s *shell) exitIfStuck(returned <-chan struct{}) {
	s.shutdown()
	select {
	case <-returned:
	case <-time.After(quitGrace):
		fmt.Fprintln(os.Stderr, "trailscope: the window closed but its event loop did not stop; the case is closed, exiting")
		os.Exit(0)
	}
}

func parseOptions(args []string) (options, error) {
	opt := options{stderr: os.Stderr, size: fyne.NewSize(1280, 800), buildDemo: defaultDemoBuilder, watchEvery: 3 * time.Second}
	fs := flag.NewFlagSet("trailscope", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opt.casePath, "case", os.Getenv("TRAILSCOPE_CASE"), "case file to open")
	size := fs.String("size", os.Getenv("TRAILSCOPE_SIZE"), "initial window size, WxH")
	if err := fs.Parse(args); err != nil {
		return opt, fmt.Errorf("%w (usage: trailscope [--case FILE] [--size WxH], or trailscope help)", err)
	}
	if fs.NArg() > 0 {
		return opt, fmt.Errorf("unknown command %q (see trailscope help)", fs.Arg(0))
	}
	if *size != "" {
		w, h, ok := strings.Cut(*size, "x")
		wi, err1 := strconv.Atoi(w)
		hi, err2 := strconv.Atoi(h)
		if !ok || err1 != nil || err2 != nil || wi < 200 || hi < 200 {
			return opt, fmt.Errorf("--size %q: want WIDTHxHEIGHT, e.g. 1280x800", *size)
		}
		opt.size = fyne.NewSize(float32(wi), float32(hi))
	}
	if dir, err := os.UserConfigDir(); err == nil {
		opt.demoDir = filepath.Join(dir, "trailscope")
	} else {
		opt.demoDir = filepath.Join(os.TempDir(), "trailscope")
	}
	return opt, nil
}

// shutdown stops background work and closes the open cases as the window closes. Any goroutine
// may call it (the UI goroutine may be stuck, see exitIfStuck); later calls wait for the first.
func (s *shell) shutdown() {
	s.stopped.Do(func() {
		s.b.close(5 * time.Second)
		s.open.closeAll()
		waitFor(&s.caseJobs, 5*time.Second)
	})
}
