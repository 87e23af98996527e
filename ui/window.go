package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
)

// Preference keys.
const (
	prefRecent  = "recentCases"   // case paths, most recent first
	prefQueries = "recentQueries" // the investigator's queries, most recent first
	prefTheme   = "theme"         // system, light or dark
	maxRecent   = 8
)

// screen is one entry of the navigation: built from this list, not wired by hand.
type screen struct {
	Title string
	Icon  fyne.Resource
	View  func(v *caseView) fyne.CanvasObject
}

// Screen indexes into screens().
const (
	screenOverview = iota
	screenInvestigator
	screenRules
	screenSources
	screenSettings
)

func screens() []screen {
	return []screen{
		{"Overview", theme.HomeIcon(), func(v *caseView) fyne.CanvasObject { return v.overview.content }},
		{"Investigator", theme.SearchIcon(), func(v *caseView) fyne.CanvasObject { return v.investigator.content }},
		{"Rules", theme.ListIcon(), func(v *caseView) fyne.CanvasObject { return v.rules.content }},
		{"Sources", theme.StorageIcon(), func(v *caseView) fyne.CanvasObject { return v.sources.content }},
		{"Settings", theme.SettingsIcon(), func(v *caseView) fyne.CanvasObject { return v.settings.content }},
	}
}

// shell is the main window: the open case's views, or a welcome page when no case is open.
type shell struct {
	app fyne.App
	win fyne.Window
	opt options
	b   *bridge

	body     *fyne.Container // the window content, swapped between welcome, progress and case
	view     *caseView       // nil when no case is open
	caseJobs sync.WaitGroup  // closing cases
	ready    sync.Once
	open     openCases // the cases opened and not yet closed, for a shutdown from any goroutine
	stopped  sync.Once // shutdown's

	demoCancel *widget.Button // stops the demo case's generation, while it runs

	attackAdded string // what an attack added to the demo case was, said once the case is open again
}

func newShell(a fyne.App, w fyne.Window, opt options) *shell {
	s := &shell{app: a, win: w, opt: opt, b: newBridge()}
	s.body = container.NewStack()
	w.SetContent(s.body)
	w.SetMaster()
	s.buildMenu()
	s.addShortcuts()
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		var paths []string
		for _, u := range uris {
			paths = append(paths, u.Path())
		}
		if s.view != nil && len(paths) > 0 {
			s.view.show(screenSources)
			s.view.sources.startImport(paths)
		}
	})
	return s
}

// start opens the case given on the command line, else the last case, else the demo case.
func (s *shell) start() {
	path := s.opt.casePath
	if path == "" {
		if rec := s.recent(); len(rec) > 0 {
			path = rec[0]
		}
	}
	if path != "" {
		s.openCase(path)
		return
	}
	s.openDemo()
}

func (s *shell) setBody(o fyne.CanvasObject) {
	for _, old := range s.body.Objects {
		stopBars(old)
	}
	s.body.Objects = []fyne.CanvasObject{o}
	s.body.Refresh()
}

// stopBars stops the moving progress bars in o: taken off the screen, a bar goes on animating,
// and each of its frames has the whole window drawn again (1.5 cores of a laptop, idle).
func stopBars(o fyne.CanvasObject) {
	switch x := o.(type) {
	case *widget.ProgressBarInfinite:
		x.Stop()
	case *fyne.Container:
		for _, c := range x.Objects {
			stopBars(c)
		}
	}
}

// openCase opens the case at path (creating it when missing) and shows its overview.
func (s *shell) openCase(path string) { s.openCaseThen(path, importSet{}) }

// openCaseThen opens the case at path, then imports then into it (if it names anything).
func (s *shell) openCaseThen(path string, then importSet) {
	label := widget.NewLabel("Opening " + filepath.Base(path) + "…")
	label.Alignment = fyne.TextAlignCenter
	label.Wrapping = fyne.TextWrapWord
	// How long opening takes is not known: a moving bar under the text, not across the window.
	s.setBody(container.NewCenter(container.NewGridWrap(fyne.NewSize(480, 110),
		container.NewVBox(label, widget.NewProgressBarInfinite()))))
	// A case made by an older version is upgraded as it opens: say so, it can take a minute.
	run(s.b, func(ctx context.Context) (bool, error) { return app.NeedsUpgrade(ctx, path) }, func(up bool, err error) {
		if err == nil && up {
			label.SetText("Upgrading " + filepath.Base(path) + " to this version's format, once: a large case takes a minute…")
		}
		s.openCaseNow(path, then)
	})
}

// openCaseNow opens the case behind the "Opening…" screen openCaseThen put up, then imports then.
func (s *shell) openCaseNow(path string, then importSet) {
	type opened struct {
		c    *app.Case
		demo string // the demo banner, "" for real logs
	}
	run(s.b, func(ctx context.Context) (opened, error) {
		c, err := app.Open(ctx, path)
		if err != nil {
			return opened{}, err
		}
		s.open.add(c) // closed at shutdown even if the window closes before it is shown
		demo, err := c.DemoNote(ctx)
		if err != nil {
			s.open.close(c)
			return opened{}, err
		}
		return opened{c, demo}, nil
	}, func(r opened, err error) {
		if err != nil {
			// The store's error names the file already.
			s.showWelcome(fmt.Sprintf("Could not open %s: %s", path, strings.TrimPrefix(err.Error(), "open case "+path+": ")))
			return
		}
		s.closeCase()
		s.addRecent(path)
		s.view = newCaseView(s, r.c, r.demo)
		title := "Trailscope — " + filepath.Base(path)
		if r.demo != "" {
			title += " (demo data)"
		}
		s.win.SetTitle(title)
		s.setBody(s.view.content)
		s.view.show(screenOverview)
		s.view.start()
		s.view.watch(s.opt.watchEvery)
		s.buildMenu()
		if len(then.args) > 0 {
			s.view.show(screenSources)
			s.view.sources.start(then)
		}
		if s.attackAdded != "" {
			dialog.ShowInformation("Attack added", s.attackAdded, s.win)
			s.attackAdded = ""
		}
	})
}

// closeCase closes the open case: its jobs are cancelled and the file is closed once they stop.
func (s *shell) closeCase() {
	v := s.view
	if v == nil {
		return
	}
	s.view = nil
	v.cancel()
	s.caseJobs.Add(1)
	go func() {
		defer s.caseJobs.Done()
		v.jobs.Wait()
		s.open.close(v.c)
	}()
}

// openCases are the cases a window has open. Any goroutine may close them, each once: the case
// view when it is replaced, or a shutdown that cannot wait for the UI goroutine.
type openCases struct {
	mu sync.Mutex
	m  map[*app.Case]struct{}
}

func (o *openCases) add(c *app.Case) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[*app.Case]struct{}{}
	}
	o.m[c] = struct{}{}
}

// close closes c unless it has been closed already.
func (o *openCases) close(c *app.Case) {
	o.mu.Lock()
	_, ok := o.m[c]
	delete(o.m, c)
	o.mu.Unlock()
	if ok {
		c.Close()
	}
}

// closeAll closes every case still open.
func (o *openCases) closeAll() {
	o.mu.Lock()
	cases := make([]*app.Case, 0, len(o.m))
	for c := range o.m {
		cases = append(cases, c)
	}
	o.mu.Unlock()
	for _, c := range cases {
		o.close(c)
	}
}

// openDemo opens the built-in demo case, generating it first when it does not exist yet.
func (s *shell) openDemo() {
	path := filepath.Join(s.opt.demoDir, "demo.tsc")
	if fileExists(path) {
		s.openCase(path)
		return
	}
	if s.opt.buildDemo == nil {
		s.showWelcome("The demo case is not available in this build.")
		return
	}
	label := widget.NewLabel("Generating the demo case (7 days of a sample organisation)…")
	label.Alignment = fyne.TextAlignCenter
	bar := widget.NewProgressBar()
	// Derived from the window's context, which run hands the work: Cancel stops only this.
	gen, cancel := context.WithCancel(s.b.ctx)
	s.demoCancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		s.demoCancel.Disable()
		cancel()
	})
	s.setBody(container.NewCenter(container.NewGridWrap(fyne.NewSize(480, 130),
		container.NewVBox(label, bar, container.NewCenter(s.demoCancel)))))
	type prog struct {
		stage string
		frac  float64
	}
	th := newThrottle(s.b, 100*time.Millisecond, func(p prog) {
		label.SetText("Demo data: " + p.stage)
		bar.SetValue(p.frac)
	})
	run(s.b, func(context.Context) (struct{}, error) {
		defer cancel()
		if err := os.MkdirAll(s.opt.demoDir, 0o700); err != nil {
			return struct{}{}, fmt.Errorf("demo folder: %w", err)
		}
		err := s.opt.buildDemo(gen, path, func(stage string, frac float64) { th.push(prog{stage, frac}) })
		if err != nil {
			// A half-built demo must not be opened as if it were complete next time.
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				os.Remove(p)
			}
		}
		return struct{}{}, err
	}, func(_ struct{}, err error) {
		th.stop()
		s.demoCancel = nil
		switch {
		case errors.Is(err, context.Canceled):
			s.showWelcome("Demo case not generated: cancelled.")
			return
		case err != nil:
			s.showWelcome("Could not generate the demo case: " + err.Error())
			return
		}
		s.openCase(path)
	})
}

// showWelcome is the window with no case open.
func (s *shell) showWelcome(note string) {
	s.closeCase()
	s.win.SetTitle("Trailscope")
	head := widget.NewLabelWithStyle("Trailscope", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	sub := widget.NewLabel("Investigate AWS CloudTrail: a baseline of normal activity, a handful of explained anomalies, every event behind them.")
	sub.Wrapping = fyne.TextWrapWord
	sub.Alignment = fyne.TextAlignCenter
	items := []fyne.CanvasObject{head, sub}
	if note != "" {
		n := widget.NewLabel(note)
		n.Wrapping = fyne.TextWrapWord
		n.Importance = widget.WarningImportance
		items = append(items, n)
	}
	items = append(items,
		widget.NewButtonWithIcon("New case…", theme.DocumentCreateIcon(), s.newCaseDialog),
		widget.NewButtonWithIcon("Open case…", theme.FolderOpenIcon(), s.openCaseDialog),
	)
	if s.opt.buildDemo != nil || fileExists(filepath.Join(s.opt.demoDir, "demo.tsc")) {
		items = append(items, widget.NewButtonWithIcon("Open the demo case", theme.MediaPlayIcon(), s.openDemo))
	}
	for _, p := range s.recent() {
		items = append(items, widget.NewButton(filepath.Base(p)+"  —  "+filepath.Dir(p), func() { s.openCase(p) }))
	}
	s.setBody(container.NewCenter(container.NewGridWrap(fyne.NewSize(560, 40*float32(len(items))), container.NewVBox(items...))))
	s.buildMenu()
}

func (s *shell) newCaseDialog() { s.newCaseDialogThen(importSet{}) }

// newCaseDialogThen asks for a new case file, opens it, and imports then into it (if it names
// anything).
func (s *shell) newCaseDialogThen(then importSet) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		path := w.URI().Path()
		w.Close()
		if !strings.HasSuffix(path, ".tsc") {
			os.Remove(path)
			path += ".tsc"
		} else {
			// The dialog created an empty file; SQLite turns it into a case.
		}
		s.openCaseThen(path, then)
	}, s.win)
	d.SetFileName("case.tsc")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".tsc"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

func (s *shell) openCaseDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		s.openCase(path)
	}, s.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".tsc", ".db", ".sqlite"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// recent lists the cases opened lately, newest first. A case moved or deleted since is left out:
// opening its path would make a new, empty case there.
func (s *shell) recent() []string {
	var out []string
	for _, p := range s.app.Preferences().StringListWithFallback(prefRecent, nil) {
		if fileExists(p) {
			out = append(out, p)
		}
	}
	return out
}

func (s *shell) addRecent(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	list := []string{path}
	for _, p := range s.recent() {
		if p != path && len(list) < maxRecent {
			list = append(list, p)
		}
	}
	s.app.Preferences().SetStringList(prefRecent, list)
}

func (s *shell) goTo(i int) {
	if s.view != nil {
		s.view.show(i)
	}
}

func (s *shell) importDialog() {
	if s.view != nil {
		s.view.show(screenSources)
		s.view.sources.chooseFiles()
	}
}

func (s *shell) buildMenu() {
	var recent []*fyne.MenuItem
	for _, p := range s.recent() {
		p := p
		recent = append(recent, fyne.NewMenuItem(filepath.Base(p)+"  ("+filepath.Dir(p)+")", func() { s.openCase(p) }))
	}
	recentItem := fyne.NewMenuItem("Recent cases", nil)
	if len(recent) == 0 {
		recentItem.Disabled = true
	} else {
		recentItem.ChildMenu = fyne.NewMenu("", recent...)
	}
	item := func(label string, key fyne.KeyName, fn func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, fn)
		if key != "" {
			it.Shortcut = &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
		}
		return it
	}
	noCase := s.view == nil
	imp := item("Import from disk…", fyne.KeyI, s.importDialog)
	reload := item("Reload case", fyne.KeyR, s.reloadCase)
	closeItem := item("Close case", fyne.KeyW, func() { s.showWelcome("") })
	exp := item("Export anomalies…", fyne.KeyE, func() {
		if s.view != nil {
			s.view.overview.chooseExport()
		}
	})
	report := fyne.NewMenuItem("Export report…", func() {
		if s.view != nil {
			s.view.chooseReport(".md")
		}
	})
	reportHTML := fyne.NewMenuItem("Export report as a web page…", func() {
		if s.view != nil {
			s.view.chooseReport(".html")
		}
	})
	// Fyne adds a Quit of its own unless the menu ends with one; this one has Ctrl+Q.
	quit := item("Quit", fyne.KeyQ, s.win.Close)
	quit.IsQuit = true
	imp.Disabled, reload.Disabled, closeItem.Disabled, exp.Disabled, report.Disabled = noCase, noCase, noCase, noCase, noCase
	reportHTML.Disabled = noCase
	file := fyne.NewMenu("File",
		item("New case…", fyne.KeyN, s.newCaseDialog),
		item("Open case…", fyne.KeyO, s.openCaseDialog),
		recentItem,
		fyne.NewMenuItem("Open demo case", s.openDemo),
		fyne.NewMenuItemSeparator(),
		imp,
		exp,
		report,
		reportHTML,
		reload,
		closeItem,
		fyne.NewMenuItemSeparator(),
		quit,
	)
	var nav []*fyne.MenuItem
	for i, sc := range screens() {
		i := i
		it := item(sc.Title, screenKey(i), func() { s.goTo(i) })
		it.Disabled = noCase
		nav = append(nav, it)
	}
	byID := item("Anomaly by id…", fyne.KeyG, func() {
		if s.view != nil {
			s.view.askAnomalyID()
		}
	})
	byID.Disabled = noCase
	nav = append(nav, fyne.NewMenuItemSeparator(), byID)
	s.win.SetMainMenu(fyne.NewMainMenu(file, fyne.NewMenu("Go", nav...)))
}

// screenKey is the digit that goes to the i-th screen with Ctrl (Cmd on macOS), in the
// order of the side bar, as tabs go in a browser. (Ctrl+F goes to the investigator as well.)
func screenKey(i int) fyne.KeyName {
	return fyne.KeyName(strconv.Itoa(i + 1))
}

func (s *shell) addShortcuts() {
	add := func(key fyne.KeyName, fn func()) {
		s.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault},
			func(fyne.Shortcut) { fn() })
	}
	add(fyne.KeyO, s.openCaseDialog)
	add(fyne.KeyN, s.newCaseDialog)
	add(fyne.KeyI, s.importDialog)
	add(fyne.KeyF, func() { s.goTo(screenInvestigator) })
	add(fyne.KeyR, s.reloadCase)
	add(fyne.KeyG, func() {
		if s.view != nil {
			s.view.askAnomalyID()
		}
	})
	add(fyne.KeyW, func() {
		if s.view != nil {
			s.showWelcome("")
		}
	})
	add(fyne.KeyQ, s.win.Close)
	for i := range screens() {
		add(screenKey(i), func() { s.goTo(i) })
	}
	// Escape closes the latest pivot or other dialog of the app's own, or else leaves an anomaly's
	// drilldown for the overview, as its back button does; under any other dialog (a file
	// dialog, an error) it does nothing. (A focused entry takes the key itself.)
	s.win.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch {
		case ev.Name == fyne.KeyEscape && s.view != nil && len(s.view.dialogs) > 0:
			s.view.dialogs[len(s.view.dialogs)-1].Hide()
		case ev.Name == fyne.KeyEscape && s.win.Canvas().Overlays().Top() != nil:
		case ev.Name == fyne.KeyEscape && s.view != nil && s.view.drill != nil:
			s.view.back()
		case ev.Name == fyne.KeyF5:
			s.reloadCase()
		case (ev.Name == fyne.KeyN || ev.Name == fyne.KeyP) && s.view != nil && s.win.Canvas().Overlays().Top() == nil:
			// Triage: the next or previous anomaly of the overview's list.
			s.view.step(map[fyne.KeyName]int{fyne.KeyN: 1, fyne.KeyP: -1}[ev.Name])
		case ev.Name == fyne.KeyV && s.view != nil && s.view.drill != nil && s.win.Canvas().Overlays().Top() == nil:
			s.view.askVerdict(s.view.drill.a, s.view.verdictChanged) // triage: the verdict on the anomaly on show
		}
	})
}

// reloadCase reads the open case again (Ctrl+R, F5), as the banner's Reload does after a change
// made elsewhere.
func (s *shell) reloadCase() {
	if s.view != nil {
		s.view.reload()
	}
}

// dashboardReady writes the one line scripts and the window test wait for, once per process.
func (s *shell) dashboardReady() {
	s.ready.Do(func() {
		if s.opt.stderr != nil {
			fmt.Fprintln(s.opt.stderr, "dashboard ready")
		}
	})
}

func (s *shell) showError(what string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	dialog.ShowError(fmt.Errorf("%s: %w", what, err), s.win)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
