package ui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// caseView is the window's content while a case is open: navigation on the left, the current
// screen (or a drilldown) in the middle, a job status line at the bottom.
type caseView struct {
	s      *shell
	c      *app.Case
	demo   bool
	ctx    context.Context // cancelled when the case closes
	cancel context.CancelFunc
	jobs   sync.WaitGroup // work on the case in flight

	overview     *overview
	investigator *investigator
	rules        *rulesView
	sources      *sources
	settings     *settingsView
	drill        *drilldown               // the drilldown on show, if any
	trail        []finding.Anomaly        // the drilldowns left for a related anomaly, the latest last: Back returns to it
	dialogs      []dialog.Dialog          // pivots and other dialogs open, the latest last: Escape closes it
	pivots       map[dialog.Dialog]func() // the pivots open, each with what reads it again

	screens []screen
	built   map[int]fyne.CanvasObject
	current int
	nav     *widget.List
	center  *fyne.Container
	content fyne.CanvasObject

	status    *widget.Label
	statusBar *widget.ProgressBar
	statusBox *fyne.Container
	analyzing bool

	// The case file as this window last read it (see checkVersion), and the banner that says
	// another process has changed it since.
	version  int64
	checking bool
	wrote    bool // this window has written since the version was last read
	indexing bool // completeSearchIndex runs
	ruling   bool // runRules runs
	adding   bool // addAttack runs
	// rulesAgain: a run was asked for while one ran (a rule saved meanwhile, which the run under
	// way had not read); it follows that one.
	rulesAgain bool
	// rulesFailed: the last run of the rules failed; scheduled runs wait for one asked for.
	rulesFailed bool
	changed     *fyne.Container
	top         *fyne.Container // the banners above the screens

	// The demo case's "Add an attack" dialog and its choice, while shown.
	attackDialog dialog.Dialog
	attackChoice *widget.RadioGroup
	// The verdict dialog's parts, while shown (for tests).
	verdictDialog dialog.Dialog
	verdictChoice *widget.RadioGroup
	verdictNote   *widget.Entry
	verdictSave   *widget.Button
	verdictNext   *widget.Button // Save and next, when there is a next
	reportWritten string         // the last report written (for tests)
	idEntry       *widget.Entry  // the entry of "Open an anomaly by its id", while shown
}

// do runs work on the case off the UI goroutine and hands the result to done on it, unless the
// case has been closed meanwhile.
func do[T any](v *caseView, work func(ctx context.Context) (T, error), done func(T, error)) {
	v.jobs.Add(1)
	run(v.s.b, func(context.Context) (T, error) {
		defer v.jobs.Done()
		return work(v.ctx)
	}, func(r T, err error) {
		if v.ctx.Err() == nil && done != nil {
			done(r, err)
		}
	})
}

// newCaseView shows case c; demoNote is the banner of a demo case (app.Case.DemoNote), "" for real
// logs.
func newCaseView(s *shell, c *app.Case, demoNote string) *caseView {
	ctx, cancel := context.WithCancel(s.b.ctx)
	v := &caseView{s: s, c: c, demo: demoNote != "", ctx: ctx, cancel: cancel, screens: screens(), built: map[int]fyne.CanvasObject{}, current: -1,
		pivots: map[dialog.Dialog]func(){}}
	v.overview = newOverview(v)
	v.investigator = newInvestigator(v)
	v.rules = newRulesView(v)
	v.sources = newSources(v)
	v.settings = newSettingsView(v)

	v.nav = widget.NewList(func() int { return len(v.screens) },
		func() fyne.CanvasObject { return widget.NewLabel("Investigator") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.screens[id].Title) })
	v.nav.OnSelected = func(id widget.ListItemID) { v.show(id) }
	v.center = container.NewStack()
	v.status = widget.NewLabel("")
	v.statusBar = widget.NewProgressBar()
	v.statusBox = container.NewBorder(nil, nil, nil, container.NewGridWrap(fyne.NewSize(220, 30), v.statusBar), v.status)
	v.statusBox.Hide()

	top := container.NewVBox()
	v.top = top
	if demoNote != "" {
		note := widget.NewLabel(demoNote)
		note.Importance = widget.WarningImportance
		note.Wrapping = fyne.TextWrapWord
		// A trainer adds attacks to the demo in front of a class.
		attack := widget.NewButtonWithIcon("Add an attack…", theme.ContentAddIcon(), v.askAttack)
		top.Add(container.NewBorder(nil, nil, nil, attack, note))
	}
	msg := widget.NewLabel("This case was changed outside this window: an import, an analysis or a setting. Reload to see it.")
	msg.Importance = widget.WarningImportance
	msg.Wrapping = fyne.TextWrapWord
	reload := widget.NewButtonWithIcon("Reload", theme.ViewRefreshIcon(), v.reload)
	v.changed = container.NewBorder(nil, nil, nil, reload, msg)
	v.changed.Hide()
	top.Add(v.changed)
	v.content = container.NewBorder(top, v.statusBox, container.NewBorder(nil, nil, nil, widget.NewSeparator(), v.nav), nil, v.center)
	return v
}

// watch checks the case file for changes made outside this window every so often, until the
// case closes. (An import from a terminal, a trainer adding a scenario with trailscope demo.)
func (v *caseView) watch(every time.Duration) {
	if every <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		r := time.NewTicker(time.Minute) // rules whose schedule says it is time
		defer r.Stop()
		for {
			select {
			case <-v.ctx.Done():
				return
			case <-t.C:
				v.s.b.post(v.checkVersion)
			case <-r.C:
				v.s.b.post(func() { v.runRules(true) })
			}
		}
	}()
}

// checkVersion reads the case file's data version off the UI goroutine and shows the banner when
// it moved while this window was not writing. This window's own imports and full-text builds
// move it too: while they run, and after, the new version is taken as read.
func (v *caseView) checkVersion() {
	if v.checking || v.ctx.Err() != nil {
		return
	}
	v.checking = true
	before := v.writing()
	do(v, func(ctx context.Context) (int64, error) { return v.c.DataVersion(ctx) }, func(ver int64, err error) {
		v.checking = false
		busy := before || v.writing()
		switch {
		case err != nil:
		case v.version == 0 || busy || v.wrote:
			// Read with this window's own writes in it: unless a job runs, they all are.
			v.version = ver
			v.wrote = busy
		case ver != v.version:
			v.version = ver
			v.showChanged(true)
		}
	})
}

// writing reports whether this window runs a job that writes to the case through connections
// of its own (which move the data version). Each such job also sets wrote when it starts, so
// that a job that begins and ends between two checks is taken as read too.
func (v *caseView) writing() bool {
	return v.sources.running || v.analyzing || v.indexing || v.ruling || v.adding
}

// showChanged shows or hides the banner. A container's Show and Hide do not lay out its parent,
// so the banners are laid out again: shown alone, the banner kept a size of zero.
func (v *caseView) showChanged(on bool) {
	if on {
		v.changed.Show()
	} else {
		v.changed.Hide()
	}
	v.top.Refresh()
}

// reload reads the case again after a change made elsewhere, and analyses what is new.
func (v *caseView) reload() {
	v.showChanged(false)
	v.start()
}

// start loads the case's screens and analyses new data.
func (v *caseView) start() {
	v.overview.load()
	v.sources.refreshInfo()
	v.settings.load()
	do(v, func(ctx context.Context) (bool, error) { return v.c.NeedsAnalysis(ctx) }, func(need bool, err error) {
		if err == nil && need {
			v.analyze()
			return
		}
		v.completeSearchIndex()
	})
}

// completeSearchIndex finishes, in the background, a full-text index that an interrupted
// import left short (word searches miss the events it lacks).
func (v *caseView) completeSearchIndex() {
	type prog struct{ done, pending int64 }
	th := newThrottle(v.s.b, 150*time.Millisecond, func(p prog) {
		frac := 0.0
		if p.pending > 0 {
			frac = float64(p.done) / float64(p.pending)
		}
		v.setStatus(fmt.Sprintf("Building the search index: %s of %s events", count(p.done), count(p.pending)), frac)
	})
	v.indexing, v.wrote = true, true
	do(v, func(ctx context.Context) (bool, error) {
		ran := false // progress is only reported when there is something to index
		err := v.c.CompleteSearchIndex(ctx, func(done, pending int64) {
			ran = true
			th.push(prog{done, pending})
		})
		return ran, err
	}, func(ran bool, err error) {
		th.stop()
		v.indexing = false
		if ran {
			v.setStatus("", 0)
		}
		v.runRules(false) // over what the index now holds
		// Another process building the same index (an import from a terminal) finishes it.
		if err != nil && !errors.Is(err, store.ErrFTSMoved) {
			v.s.showError("search index", err)
		}
	})
}

// show puts screen i in the middle of the window.
func (v *caseView) show(i int) {
	if i < 0 || i >= len(v.screens) {
		return
	}
	o, ok := v.built[i]
	if !ok {
		o = v.screens[i].View(v)
		v.built[i] = o
	}
	v.drill, v.trail = nil, nil
	v.current = i
	v.center.Objects = []fyne.CanvasObject{o}
	v.center.Refresh()
	switch i {
	case screenInvestigator:
		v.investigator.shown()
	case screenRules:
		v.rules.load()
	}
	if v.nav.OnSelected != nil {
		// Selecting in the list calls OnSelected again; avoid the loop.
		cb := v.nav.OnSelected
		v.nav.OnSelected = nil
		v.nav.Select(i)
		v.nav.OnSelected = cb
	}
}

// investigate opens the investigator on query q.
func (v *caseView) investigate(q string) {
	v.investigator.ran = true // the query below is the first search, not the newest events
	v.show(screenInvestigator)
	v.investigator.setQuery(q)
}

// openAnomaly shows the drilldown of one anomaly in place of the overview; Back leads to the
// overview.
func (v *caseView) openAnomaly(a finding.Anomaly) {
	v.trail = nil
	v.showDrill(a)
}

// openRelated shows the drilldown of an anomaly related to the one on show, which Back (and
// Escape) returns to.
func (v *caseView) openRelated(a finding.Anomaly) {
	if v.drill != nil {
		v.trail = append(v.trail, v.drill.a)
	}
	v.showDrill(a)
}

// back leaves a drilldown for the one it was opened from, or else for the overview.
func (v *caseView) back() {
	if n := len(v.trail); n > 0 {
		a := v.trail[n-1]
		v.trail = v.trail[:n-1]
		v.showDrill(a)
		return
	}
	v.show(screenOverview)
}

func (v *caseView) showDrill(a finding.Anomaly) {
	// The list or button that opened it may hold the keyboard focus, and would take Escape
	// from the window's handler (seen under Xvfb: Escape did nothing in a drilldown).
	v.s.win.Canvas().Unfocus()
	d := newDrilldown(v, a)
	v.drill = d
	v.center.Objects = []fyne.CanvasObject{d.content}
	v.center.Refresh()
}

// setStatus shows a running job at the bottom of the window; an empty text hides it.
func (v *caseView) setStatus(text string, frac float64) {
	if text == "" {
		v.statusBox.Hide()
		return
	}
	v.status.SetText(text)
	v.statusBar.SetValue(frac)
	v.statusBox.Show()
}

// analyze runs the baseline engine in the background, with progress, then redraws.
func (v *caseView) analyze() {
	if v.analyzing {
		return
	}
	v.analyzing, v.wrote = true, true
	type prog struct{ done, total int64 }
	start := time.Now()
	th := newThrottle(v.s.b, 150*time.Millisecond, func(p prog) {
		frac := 0.0
		if p.total > 0 {
			frac = float64(p.done) / float64(p.total)
		}
		text := fmt.Sprintf("Analysing: %s of %s events", count(p.done), count(p.total))
		v.sources.analysisProgress(text, frac)
		v.setStatus(text, frac)
	})
	v.sources.analysisProgress("Analysing…", 0)
	do(v, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.c.Analyze(ctx, false, func(done, total int64) { th.push(prog{done, total}) })
	}, func(_ struct{}, err error) {
		th.stop()
		v.analyzing = false
		v.setStatus("", 0)
		if err != nil {
			v.sources.analysisDone(fmt.Sprintf("Analysis failed: %v", err))
			v.s.showError("analysis", err)
			return
		}
		v.sources.analysisDone(fmt.Sprintf("Analysis done in %s.", time.Since(start).Round(100*time.Millisecond)))
		v.overview.load()
		v.completeSearchIndex()
	})
}

// runRules gives the case the built-in rules it lacks and runs the rules over the events that
// arrived since each last ran: every enabled rule, or (due) those whose schedule says so. New
// matches show on the overview and the Rules screen.
func (v *caseView) runRules(due bool) {
	if v.ruling && !due {
		v.rulesAgain = true
		return
	}
	if v.ruling || v.analyzing || v.indexing || v.sources.running {
		return // the run that follows them reads what they wrote
	}
	if due && v.rulesFailed {
		return // said once; "Run now", a reload or an import try again
	}
	v.ruling, v.wrote = true, true
	if !due {
		// A first run over a million events reads them all for each rule: a few seconds.
		v.setStatus("Running the detection rules…", 0)
	}
	do(v, func(ctx context.Context) (int64, error) {
		if err := v.c.InstallRules(ctx); err != nil {
			return 0, err
		}
		return v.c.RunRules(ctx, time.Now(), due)
	}, func(added int64, err error) {
		v.ruling = false
		if !due {
			v.setStatus("", 0)
		}
		defer func() {
			if v.rulesAgain {
				v.rulesAgain = false
				v.runRules(false)
			}
		}()
		if err != nil {
			if !due || !v.rulesFailed {
				// A case on read-only media, say: the schedule says so once, not every minute.
				v.s.showError("rules", err)
			}
			v.rulesFailed = true
			return
		}
		v.rulesFailed = false
		if added > 0 || !due {
			v.overview.load()
			v.rules.load()
			if v.drill != nil {
				v.drill.rulesRan()
			}
			v.investigator.rulesRan()
			for _, reread := range v.pivots {
				reread()
			}
		}
	})
}

// counted says how many of a thing, in the singular for one: "1 file", "2,417 files".
func counted(n int64, one, many string) string { return app.Counted(n, one, many) }

// count is a number with its thousands grouped: 2,417.
func count(n int64) string { return app.Count(n) }
