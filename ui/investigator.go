package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// Results the investigator fetches at first, and adds with each "Show more" (read from where the
// list ends); it never holds more than maxHits (each keeps its raw JSON, about 1.6 KB).
// Variables for tests.
var (
	pageHits = 500
	maxHits  = 20000
)

// queryHelp is the one line of syntax under the query.
const queryHelp = "Words search every value · field:value (eventName:ListBuckets, requestParameters.bucketName:prod-*) · " +
	"sourceIPAddress:(10.0.0.0/8 OR 203.0.113.7) · AND OR NOT - ( ) · eventTime>=2024-05-09T03:00:00Z · Enter searches"

var hitColumns = []column[*store.Hit]{
	{"Time (UTC)", 150, func(h *store.Hit) string { return h.Time.UTC().Format("2006-01-02 15:04:05") }},
	{"Event", 170, func(h *store.Hit) string { return h.EventName }},
	{"Principal", 250, func(h *store.Hit) string { return shortPrincipal(h) }},
	{"Address", 120, func(h *store.Hit) string { return h.SourceIP }},
	{"Rule", 200, func(h *store.Hit) string { return h.Rule }}, // the rule of highest severity that matched it
	{"Error", 130, func(h *store.Hit) string { return h.ErrorCode }},
	{"Region", 100, func(h *store.Hit) string { return h.Region }},
	{"Direction", 90, func(h *store.Hit) string { return h.Direction }}, // the dashboard's lane (direction:VALUE)
}

// investigator searches every field of every event: a query, its newest matches, and the chosen
// event's fields, each a click away from narrowing the query.
type investigator struct {
	v        *caseView
	query    *widget.SelectEntry // its list holds the recent queries
	search   *widget.Button      // Search, or Stop while a search runs
	status   *widget.Label
	more     *widget.Button
	results  *keyTable
	timeline *barsView       // the matches over time
	head     *fyne.Container // the query bar, status and timeline above the results
	content  fyne.CanvasObject

	hits       []store.Hit
	onShow     store.Filter // the search whose results are on show, which Export writes out
	onShowText string       // its query
	searched   bool         // a search has been on show
	total      int64        // how many events it matches, once counted
	bars       string       // what a bar of its timeline counts, for the status line
	export     *widget.Button
	saveRule   *widget.Button
	gen        int                // the search on show: results of older ones are dropped
	cancel     context.CancelFunc // stops the search on show
	counting   bool               // the search on show has its first page, and is being counted
	ran        bool               // a search has been started since the screen was built

	sel            int // index into hits of the event shown, -1 for none
	fields         []field
	fieldsHead     *widget.Label
	fieldsTable    *keyTable
	pivotAddr      *widget.Button
	pivotCall      *widget.Button
	pivotPrincipal *widget.Button
	copyJSON       *widget.Button

	counts   *valueCounts // the matches counted by a field's values, in a tab beside the event
	tabs     *container.AppTabs
	eventTab *container.TabItem
}

func newInvestigator(v *caseView) *investigator {
	iv := &investigator{v: v, sel: -1}
	iv.query = widget.NewSelectEntry(v.s.app.Preferences().StringListWithFallback(prefQueries, nil))
	iv.query.SetPlaceHolder("Search every field: a word, field:value, or both (empty: every event)")
	iv.query.OnSubmitted = func(string) { iv.run() }
	iv.search = widget.NewButtonWithIcon("Search", theme.SearchIcon(), iv.run)
	iv.search.Importance = widget.HighImportance
	clear := widget.NewButtonWithIcon("", theme.ContentClearIcon(), func() { iv.setQuery("") })
	help := widget.NewLabel(queryHelp)
	help.Wrapping = fyne.TextWrapWord
	help.TextStyle.Italic = true
	iv.status = widget.NewLabel("")
	iv.status.Wrapping = fyne.TextWrapWord
	iv.more = widget.NewButton("Show more", iv.showMore)
	iv.more.Hide()
	iv.export = widget.NewButtonWithIcon("Export…", theme.DownloadIcon(), iv.chooseExport)
	iv.export.Disable()
	// The query on show, watched on a schedule: each match an indicator.
	iv.saveRule = widget.NewButtonWithIcon("Save as rule…", theme.DocumentSaveIcon(), func() {
		showRuleEditor(v, store.Rule{Query: strings.TrimSpace(iv.query.Text), Severity: 5, Every: 60, Enabled: true})
	})

	iv.results = newColumnTable(hitColumns, func() int { return len(iv.hits) }, func(row int) (*store.Hit, bool) {
		if row < len(iv.hits) {
			return &iv.hits[row], true
		}
		return nil, false
	})
	iv.results.OnSelected = func(id widget.TableCellID) { iv.showHit(id.Row) }

	iv.fieldsHead = widget.NewLabelWithStyle("Choose an event to see every field", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	iv.fieldsHead.Truncation = fyne.TextTruncateEllipsis
	iv.fieldsTable = newFieldsTable(&iv.fields)
	// Choosing a field narrows the query to events with the same value.
	iv.fieldsTable.OnSelected = func(id widget.TableCellID) {
		iv.fieldsTable.Unselect(id)
		if id.Row < len(iv.fields) {
			iv.addField(iv.fields[id.Row])
		}
	}
	iv.pivotAddr = widget.NewButton("Address", nil)
	iv.pivotCall = widget.NewButton("Call", nil)
	iv.pivotPrincipal = widget.NewButton("Principal", nil)
	iv.copyJSON = widget.NewButtonWithIcon("Copy JSON", theme.ContentCopyIcon(), func() {
		if iv.sel >= 0 && iv.sel < len(iv.hits) {
			v.s.app.Clipboard().SetContent(indentJSON(iv.hits[iv.sel].Raw))
		}
	})
	for _, b := range []*widget.Button{iv.pivotAddr, iv.pivotCall, iv.pivotPrincipal, iv.copyJSON} {
		b.Disable()
	}
	actions := container.NewHBox(widget.NewLabel("Pivot on its"), iv.pivotAddr, iv.pivotCall, iv.pivotPrincipal, iv.copyJSON)
	fieldsHint := widget.NewLabel("Choose a field to add it to the query.")
	fieldsHint.TextStyle.Italic = true
	fieldsPane := container.NewBorder(container.NewVBox(iv.fieldsHead, container.NewBorder(nil, nil, fieldsHint, actions)),
		nil, nil, nil, iv.fieldsTable)

	// Stop takes Search's place while a search runs, in the same room: the query bar stays put.
	searchSlot := container.NewGridWrap(iv.search.MinSize(), iv.search)
	bar := container.NewBorder(nil, nil, nil, container.NewHBox(clear, searchSlot), iv.query)
	iv.timeline = newBarsView(iv.zoom)
	iv.head = container.NewVBox(widget.NewLabelWithStyle("Investigator", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), bar, help,
		container.NewBorder(nil, nil, nil, container.NewHBox(iv.more, iv.export, iv.saveRule), iv.status), iv.timeline)
	eventTab := container.NewTabItem("Event", fieldsPane)
	countTab := container.NewTabItem("Count by field", nil)
	tabs := container.NewAppTabs(eventTab, countTab)
	iv.tabs, iv.eventTab = tabs, eventTab
	iv.counts = newValueCounts(iv, func() bool { return tabs.Selected() == countTab })
	countTab.Content = iv.counts.content
	tabs.OnSelected = func(t *container.TabItem) {
		if t == countTab {
			iv.counts.shown()
		}
	}
	split := container.NewHSplit(iv.results, tabs)
	split.Offset = 0.58
	iv.content = container.NewBorder(iv.head, nil, nil, nil, split)
	return iv
}

// shown is called when the screen comes up: the first time, it lists the newest events.
func (iv *investigator) shown() {
	if !iv.ran {
		iv.run()
	}
	iv.v.s.win.Canvas().Focus(iv.query)
}

// setQuery puts q in the query bar and searches, from the first page.
func (iv *investigator) setQuery(q string) {
	iv.query.SetText(q)
	iv.run()
}

// run searches for the query in the bar: the newest matches, then how many there are in all.
// A new search stops the one under way.
func (iv *investigator) run() {
	iv.ran = true
	text := strings.TrimSpace(iv.query.Text)
	f, err := app.Compile(text, time.Time{}, time.Time{})
	if iv.cancel != nil {
		iv.cancel()
		iv.cancel = nil
	}
	iv.gen++
	gen := iv.gen
	if err != nil {
		msg := queryErrorText(err)
		if len(iv.hits) > 0 {
			msg += " — the events below are the last search's"
		}
		iv.setStatus(msg, widget.DangerImportance)
		return
	}
	iv.counts.stop() // a count of the last search would only slow this one
	iv.timeline.fade()
	ctx, cancel := context.WithCancel(iv.v.ctx)
	iv.cancel = cancel
	iv.counting = false
	iv.setStatus("Searching…", widget.MediumImportance)
	iv.running(true)
	iv.more.Hide()
	limit := pageHits
	start := time.Now()
	do(iv.v, func(context.Context) ([]store.Hit, error) {
		return iv.page(ctx, func(fn func(store.Hit) error) error { return iv.v.c.Search(ctx, f, limit+1, fn) })
	}, func(hits []store.Hit, err error) {
		if gen != iv.gen {
			return
		}
		if err != nil {
			cancel()
			iv.running(false)
			if !errors.Is(err, context.Canceled) {
				iv.setStatus("The search failed: "+err.Error(), widget.DangerImportance)
			}
			return
		}
		iv.counting = true
		took := time.Since(start)
		iv.remember(text)
		full := len(hits) > limit // there are more than the page holds
		if full {
			hits = hits[:limit]
		}
		iv.setHits(hits)
		iv.onShow, iv.onShowText, iv.total, iv.searched = f, text, -1, true
		iv.counts.searched()
		iv.export.Disable() // until the matches are counted
		shown := ""
		if iv.v.indexing && strings.Contains(f.Where, store.FTSIn) {
			// Words are looked up in the full-text index, which does not hold every event yet.
			shown = " · the search index is still being built: words may miss the newest events"
		}
		if full {
			shown = fmt.Sprintf(" · newest %s shown", count(int64(len(hits)))) + shown
			if len(hits) < maxHits {
				iv.more.Show()
			}
		}
		iv.setStatus(fmt.Sprintf("Counting the matches…%s · %s", shown, took.Round(time.Millisecond)), widget.MediumImportance)
		iv.countMatches(ctx, cancel, gen, f, hits, full, func(total string) string {
			return fmt.Sprintf("%s%s · %s", total, shown, took.Round(time.Millisecond))
		})
	})
}

// running turns the Search button into Stop while a search, or its count, runs: on a case of
// millions either can take seconds.
func (iv *investigator) running(on bool) {
	if on {
		iv.search.SetText("Stop")
		iv.search.SetIcon(theme.CancelIcon())
		iv.search.OnTapped = iv.stop
		return
	}
	iv.search.SetText("Search")
	iv.search.SetIcon(theme.SearchIcon())
	iv.search.OnTapped = iv.run
}

// stop stops the search under way; what it found so far stays on show.
func (iv *investigator) stop() {
	if iv.cancel != nil {
		iv.cancel()
		iv.cancel = nil
	}
	iv.gen++ // its results, should any come now, are dropped
	iv.running(false)
	switch {
	case iv.counting:
		iv.setStatus(fmt.Sprintf("Stopped before the matches were counted · newest %s shown", count(int64(len(iv.hits)))),
			widget.WarningImportance)
	case len(iv.hits) > 0:
		iv.setStatus("Search stopped — the events below are the last search's", widget.WarningImportance)
	default:
		iv.setStatus("Search stopped", widget.WarningImportance)
	}
}

// countMatches draws the timeline of the search gen and counts its matches: from the page in
// hand when it holds them all (not full), else from the case per 5 minutes. status makes the
// status line from the count.
func (iv *investigator) countMatches(ctx context.Context, cancel context.CancelFunc, gen int, f store.Filter,
	hits []store.Hit, full bool, status func(total string) string) {
	colors, scale := currentPalette(), iv.v.s.win.Canvas().Scale()
	chartW := max(iv.content.Size().Width, 400)
	var inHand []time.Time
	if !full {
		for i := range hits {
			inHand = append(inHand, hits[i].Time)
		}
	}
	do(iv.v, func(context.Context) (matchTimeline, error) {
		bins := binTimes(inHand, 5*time.Minute)
		if full {
			var err error
			if bins, err = iv.v.c.Histogram(ctx, f, 5*time.Minute); err != nil {
				return matchTimeline{}, err
			}
		}
		return drawMatches(bins, colors, chartW, scale), nil
	}, func(m matchTimeline, err error) {
		if gen != iv.gen {
			return
		}
		cancel()
		iv.running(false)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				iv.setStatus(status("Counting failed: "+err.Error()), widget.DangerImportance)
			}
			return
		}
		iv.total = m.total
		if m.total > 0 {
			iv.export.Enable()
		}
		iv.bars = ""
		if m.img != nil {
			iv.bars = " · bars: events per " + binWords(int64(m.bin/time.Second)) + " (choose one to zoom in)"
		}
		iv.setStatus(status(counted(m.total, "event matches", "events match"))+iv.bars, widget.MediumImportance)
		iv.showTimeline(m)
	})
}

// matchTimeline is a search's matches per time bin, drawn, and their total.
type matchTimeline struct {
	total    int64
	bin      time.Duration
	img      image.Image // nil when there is nothing to draw
	from, to time.Time   // the x axis
	span     plotSpan    // where the x axis runs in img
}

// timelineBins are the bin widths a search's timeline may take, the narrowest that keeps it
// to maxBars bars.
var timelineBins = []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour}

const maxBars = 400

// drawMatches coarsens 5-minute bins to the width the span needs and draws them as bars.
func drawMatches(bins []store.Bin, colors palette, w float32, scale float32) matchTimeline {
	var m matchTimeline
	for _, b := range bins {
		m.total += b.Events
	}
	if len(bins) == 0 {
		return m
	}
	span := bins[len(bins)-1].Start.Sub(bins[0].Start)
	m.bin = timelineBins[len(timelineBins)-1]
	for _, b := range timelineBins {
		if span/b < maxBars {
			m.bin = b
			break
		}
	}
	var pts []finding.Point
	for _, b := range bins {
		start := b.Start.Truncate(m.bin)
		if n := len(pts); n > 0 && pts[n-1].BinStart.Equal(start) {
			pts[n-1].Observed += float64(b.Events)
			continue
		}
		pts = append(pts, finding.Point{BinStart: start, Observed: float64(b.Events)})
	}
	// A bin of margin on each side keeps the first and last bars off the axes.
	from, to := pts[0].BinStart.Add(-m.bin), pts[len(pts)-1].BinStart.Add(2*m.bin)
	img, axis, err := renderBars(chartSpec{Points: pts, From: from, To: to, Bin: m.bin,
		W: int(w * scale), H: int(matchesH * scale), DPI: 96 * float64(scale), Colors: colors})
	if err == nil {
		m.img, m.from, m.to, m.span = img, from, to, axis
	}
	return m
}

// matchesH is the height of a search's timeline.
const matchesH = 110

// binTimes counts times per bin (aligned on the Unix epoch, as the case's histogram is), oldest
// first.
func binTimes(ts []time.Time, bin time.Duration) []store.Bin {
	var out []store.Bin
	for _, t := range slices.SortedFunc(slices.Values(ts), time.Time.Compare) {
		start := t.UTC().Truncate(bin)
		if n := len(out); n > 0 && out[n-1].Start.Equal(start) {
			out[n-1].Events++
			continue
		}
		out = append(out, store.Bin{Start: start, Events: 1})
	}
	return out
}

// showTimeline puts a search's timeline above its results, or takes it away.
func (iv *investigator) showTimeline(m matchTimeline) {
	iv.timeline.show(m)
	iv.head.Refresh() // Show and Hide do not lay the parent out again
}

// barsView shows a search's matches over time; choosing a bar narrows the search to its bin.
type barsView struct {
	widget.BaseWidget
	img   *canvas.Image
	m     matchTimeline
	onBin func(from, to time.Time)
	stale bool // the last search's, while the next is counted (fade)
}

func newBarsView(onBin func(from, to time.Time)) *barsView {
	b := &barsView{img: canvas.NewImageFromImage(nil), onBin: onBin}
	// Stretched, so that the image's x axis spans the widget's and a tap maps onto it.
	b.img.FillMode = canvas.ImageFillStretch
	b.ExtendBaseWidget(b)
	b.Hide()
	return b
}

func (b *barsView) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(b.img) }

func (b *barsView) MinSize() fyne.Size { return fyne.NewSize(200, matchesH) }

// show draws m, or hides the view when m has no image.
func (b *barsView) show(m matchTimeline) {
	b.m, b.stale = m, false
	b.img.Translucency = 0
	if m.img == nil {
		b.Hide()
		return
	}
	b.img.Image = m.img
	b.Show()
	b.img.Refresh()
}

// fade shows the timeline as the last search's while a new one is counted, which on a large
// case takes seconds: faint, and with no bar to choose, which would narrow the new search to
// the old one's times. A search that fails leaves it so.
func (b *barsView) fade() {
	if b.stale || b.m.img == nil {
		return
	}
	b.stale = true
	b.img.Translucency = 0.8
	b.img.Refresh()
}

// binAt is the bin under x (in the widget's coordinates).
func (b *barsView) binAt(x float32) (time.Time, time.Time, bool) {
	w := b.Size().Width
	if b.m.img == nil || b.stale || w <= 0 {
		return time.Time{}, time.Time{}, false
	}
	px := int(x / w * float32(b.m.img.Bounds().Dx()))
	t, ok := b.m.span.at(px, b.m.from, b.m.to)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	start := t.Truncate(b.m.bin) // bins are aligned on the Unix epoch, as the case counts them
	return start, start.Add(b.m.bin), true
}

// Tapped narrows the search to the bin under the pointer.
func (b *barsView) Tapped(ev *fyne.PointEvent) {
	if from, to, ok := b.binAt(ev.Position.X); ok && b.onBin != nil {
		b.onBin(from, to)
	}
}

// Cursor says the bars can be chosen, unless they are the last search's.
func (b *barsView) Cursor() desktop.Cursor {
	if b.stale {
		return desktop.DefaultCursor
	}
	return desktop.PointerCursor
}

// zoom narrows the search on show to [from, to).
func (iv *investigator) zoom(from, to time.Time) {
	q, err := andQuery(iv.onShowText, windowQuery(from, to))
	if err != nil {
		iv.setStatus(queryErrorText(err), widget.DangerImportance)
		return
	}
	iv.setQuery(q)
}

// chooseExport asks in which form to export the matches on show, then where.
func (iv *investigator) chooseExport() {
	msg := fmt.Sprintf("Export the %s matching the search shown, newest first:", counted(iv.total, "event", "events"))
	askExport(iv.v, "Export", msg, []exportForm{
		{"JSON lines — each event's raw record", "trailscope-search.jsonl"},
		{"CSV — time, event, address, principal, error, user agent", "trailscope-search.csv"},
	}, func(path string) { iv.exportTo(path, true) })
}

// dropEmpty removes the empty file the save dialog made at path, once an export into it failed
// or was cancelled; a file with anything in it is someone's and stays.
func dropEmpty(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		os.Remove(path)
	}
}

// askSavePath asks where to save a file, suggesting name, and hands the path chosen to chosen.
// The dialog makes the file, empty: a writer writes its own beside it and renames it over it.
func askSavePath(win fyne.Window, name string, chosen func(path string)) {
	save := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		path := w.URI().Path()
		w.Close()
		chosen(path)
	}, win)
	save.SetFileName(name)
	save.Resize(fyne.NewSize(900, 600))
	save.Show()
}

// exportForm is one choice of askExport: its button's text and the file name it suggests.
type exportForm struct{ label, name string }

// askExport asks in which form to export (msg over a button per form), then where, and hands
// the path chosen to write. The save dialog makes the file, empty: the export writes its own
// beside it and renames it over it at the end.
func askExport(v *caseView, title, msg string, forms []exportForm, write func(path string)) {
	win := v.s.win
	var ask dialog.Dialog
	items := []fyne.CanvasObject{widget.NewLabel(msg)}
	for _, f := range forms {
		items = append(items, widget.NewButton(f.label, func() {
			ask.Hide()
			askSavePath(win, f.name, write)
		}))
	}
	ask = dialog.NewCustom(title, "Cancel", container.NewVBox(items...), win)
	v.trackDialog(ask, nil)
	ask.Show()
}

// exportTo writes the matches on show to path (as app.ExportFormat names), with progress and a
// Cancel; the file appears only when the export is whole. When the save dialog made the file
// (empty), a failed or cancelled export takes it away again.
func (iv *investigator) exportTo(path string, dialogMade bool) {
	f := iv.onShow
	ctx, cancel := context.WithCancel(iv.v.ctx)
	label := widget.NewLabel("Exporting…")
	bar := widget.NewProgressBarInfinite()
	wait := dialog.NewCustom("Export to "+filepath.Base(path), "Cancel", container.NewVBox(label, bar), iv.v.s.win)
	iv.v.trackDialog(wait, cancel) // Cancel, or Escape, stops the export
	wait.Show()
	th := newThrottle(iv.v.s.b, 150*time.Millisecond, func(n int64) { label.SetText("Exporting… " + counted(n, "event", "events")) })
	do(iv.v, func(context.Context) (int64, error) {
		n, err := iv.v.c.Export(ctx, f, path, th.push)
		if err != nil && dialogMade {
			dropEmpty(path)
		}
		return n, err
	}, func(n int64, err error) {
		th.stop()
		wait.Hide()
		bar.Stop() // hidden, it would go on animating (see stopBars)
		switch {
		case errors.Is(err, context.Canceled):
			iv.setStatus("Export cancelled: "+path+" was not written.", widget.MediumImportance)
		case err != nil:
			iv.v.s.showError("export", err)
		default:
			iv.setStatus(fmt.Sprintf("Exported %s to %s.", counted(n, "event", "events"), path), widget.MediumImportance)
		}
	})
}

// maxQueries is how many recent queries the query bar offers.
const maxQueries = 20

// remember puts a query that ran at the top of the recent ones, kept across sessions.
func (iv *investigator) remember(q string) {
	if q == "" {
		return
	}
	prefs := iv.v.s.app.Preferences()
	list := slices.DeleteFunc(prefs.StringListWithFallback(prefQueries, nil), func(s string) bool { return s == q })
	list = append([]string{q}, list...)
	list = list[:min(len(list), maxQueries)]
	prefs.SetStringList(prefQueries, list)
	iv.query.SetOptions(list)
}

// page collects the hits a search streams, each named with the rule that matched it (off the
// UI goroutine).
func (iv *investigator) page(ctx context.Context, search func(func(store.Hit) error) error) ([]store.Hit, error) {
	var hits []store.Hit
	err := search(func(h store.Hit) error {
		hits = append(hits, h)
		return nil
	})
	if err == nil {
		err = iv.v.c.NameRules(ctx, hits)
	}
	return hits, err
}

// rulesRan names again the rules that matched the hits on show, after a run that may have
// added matches; the list and its order stay.
func (iv *investigator) rulesRan() {
	if len(iv.hits) == 0 {
		return
	}
	hits, gen := slices.Clone(iv.hits), iv.gen
	do(iv.v, func(ctx context.Context) ([]store.Hit, error) {
		return hits, iv.v.c.NameRules(ctx, hits)
	}, func(hits []store.Hit, err error) {
		if gen != iv.gen {
			return // another search since
		}
		if err != nil {
			iv.v.s.showError("name the rules of the events shown", err)
			return
		}
		for i := range min(len(hits), len(iv.hits)) { // Show more may have added hits since
			iv.hits[i].Rule = hits[i].Rule
		}
		iv.results.Refresh()
	})
}

// showMore adds the next page of the search on show, read from where the list ends.
func (iv *investigator) showMore() {
	if len(iv.hits) == 0 {
		return
	}
	f, after, gen := iv.onShow, iv.hits[len(iv.hits)-1], iv.gen
	n := min(pageHits, maxHits-len(iv.hits))
	iv.more.Disable()
	do(iv.v, func(ctx context.Context) ([]store.Hit, error) {
		return iv.page(ctx, func(fn func(store.Hit) error) error { return iv.v.c.SearchAfter(ctx, f, after, n+1, fn) })
	}, func(page []store.Hit, err error) {
		iv.more.Enable()
		if gen != iv.gen {
			return
		}
		if err != nil {
			iv.v.s.showError("show more", err)
			return
		}
		more := len(page) > n
		if more {
			page = page[:n]
		}
		iv.hits = append(iv.hits, page...)
		iv.results.Refresh()
		if !more || len(iv.hits) >= maxHits {
			iv.more.Hide()
		}
		shown := "newest " + count(int64(len(iv.hits))) + " shown"
		if !more {
			shown = "all " + count(int64(len(iv.hits))) + " shown"
		}
		if iv.total >= 0 {
			shown = counted(iv.total, "event matches", "events match") + " · " + shown
		}
		iv.setStatus(shown+iv.bars, widget.MediumImportance)
	})
}

func (iv *investigator) setStatus(text string, imp widget.Importance) {
	iv.status.Importance = imp
	iv.status.SetText(text)
}

// setHits shows a search's results, keeping the event shown when it is still among them.
func (iv *investigator) setHits(hits []store.Hit) {
	var keep string
	if iv.sel >= 0 && iv.sel < len(iv.hits) {
		keep = iv.hits[iv.sel].EventID
	}
	iv.hits = hits
	iv.results.UnselectAll()
	iv.results.Refresh()
	iv.sel = -1
	for i := range hits {
		if keep != "" && hits[i].EventID == keep {
			iv.sel = i
			return
		}
	}
	if keep != "" {
		iv.clearHit()
	}
}

// showHit shows every field of result i, with pivots on its address, call and principal.
func (iv *investigator) showHit(i int) {
	if i < 0 || i >= len(iv.hits) {
		return
	}
	h := &iv.hits[i]
	fs, err := flatten(h.Raw)
	if err != nil {
		iv.v.s.showError("read the event", err)
		return
	}
	iv.sel = i
	iv.fields = fs
	iv.tabs.Select(iv.eventTab)
	iv.fieldsHead.SetText(fmt.Sprintf("%s at %s UTC", h.EventName, h.Time.UTC().Format("2006-01-02 15:04:05")))
	all := store.PivotOptions{Top: pivotTop}
	setPivot(iv.v, iv.pivotAddr, app.PivotIP, h.SourceIP, all)
	setPivot(iv.v, iv.pivotCall, app.PivotEvent, h.EventName, all)
	setPivot(iv.v, iv.pivotPrincipal, app.PivotPrincipal, h.PrincipalARN, all)
	iv.copyJSON.Enable()
	iv.fieldsTable.Refresh()
	iv.fieldsTable.ScrollToTop()
}

func (iv *investigator) clearHit() {
	iv.sel = -1
	iv.fields = nil
	iv.fieldsHead.SetText("Choose an event to see every field")
	for _, b := range []*widget.Button{iv.pivotAddr, iv.pivotCall, iv.pivotPrincipal, iv.copyJSON} {
		b.Disable()
	}
	iv.fieldsTable.Refresh()
}

// addField adds field:value to the query (AND) and searches again.
func (iv *investigator) addField(f field) {
	q, err := addFieldTo(iv.query.Text, f)
	if err != nil {
		iv.setStatus(err.Error(), widget.DangerImportance)
		return
	}
	iv.setQuery(q)
}

// andQuery is a AND b, each kept whole (b may hold ORs), as canonical text.
func andQuery(a, b string) (string, error) {
	ea, err := query.Parse(a)
	if err != nil {
		return "", err
	}
	if _, err := query.Parse(b); err != nil {
		return "", err
	}
	return query.AndTerm(ea, "("+b+")")
}

// arrayIndex matches the [n] of an array element in a flattened path.
var arrayIndex = regexp.MustCompile(`\[\d+\]`)

// addFieldTo returns query q with the field's value added (AND), as canonical text. The query
// language looks into arrays by itself, so resources[0].ARN becomes resources.ARN.
func addFieldTo(q string, f field) (string, error) {
	switch f.Value {
	case "{}", "[]", "null":
		return "", fmt.Errorf("%s is empty: there is no value to search for", f.Key)
	}
	out, err := andQuery(q, query.FieldValue(arrayIndex.ReplaceAllString(f.Key, ""), f.Value))
	if err != nil {
		return "", fmt.Errorf("the query does not parse, so the field cannot be added: %s", queryErrorText(err))
	}
	return out, nil
}

// queryErrorText says where a query went wrong.
func queryErrorText(err error) string {
	var qe *query.Error
	if errors.As(err, &qe) {
		return fmt.Sprintf("Query error at column %d: %s", qe.Col, qe.Msg)
	}
	return "Query error: " + err.Error()
}

// windowQuery selects the events from one time to another.
func windowQuery(from, to time.Time) string {
	return "eventTime>=" + from.UTC().Format(time.RFC3339) + " eventTime<" + to.UTC().Format(time.RFC3339)
}

// pivotQuery selects the events a pivot profiles (see the store's Pivot methods).
func pivotQuery(kind, value string) string {
	switch kind {
	case app.PivotIP:
		return query.FieldValue("sourceIPAddress", value)
	case app.PivotEvent:
		return query.FieldValue("eventName", value)
	case app.PivotPrincipal:
		return query.FieldValue("userIdentity.arn", value)
	case app.PivotKey:
		if strings.HasPrefix(value, "arn:") {
			return query.FieldValue("userIdentity.arn", value) + " OR " +
				query.FieldValue("userIdentity.sessionContext.sessionIssuer.arn", value)
		}
		return query.FieldValue("userIdentity.accessKeyId", value)
	}
	return ""
}

// anomalyQuery is the investigator's query for an anomaly: its window, and its entity when it
// has one a field can name.
func anomalyQuery(a finding.Anomaly) string {
	terms := []string{windowQuery(a.WindowStart, a.WindowEnd)}
	switch a.EntityType {
	case finding.EntityIP:
		terms = append(terms, query.FieldValue("sourceIPAddress", a.Entity))
	case finding.EntityAPI:
		terms = append(terms, query.FieldValue("eventName", a.Entity))
	case finding.EntityPrincipal:
		if strings.HasPrefix(a.Entity, "arn:") {
			terms = append(terms, query.FieldValue("userIdentity.arn", a.Entity))
		}
	}
	return strings.Join(terms, " ")
}

// shortPrincipal names who made a call without the ARN's fixed prefix:
// assumed-role/web-waf/i-0abc, user/alice.
func shortPrincipal(h *store.Hit) string {
	if h.PrincipalARN != "" {
		return shortARN(h.PrincipalARN)
	}
	if h.UserName != "" {
		return h.UserName
	}
	return h.PrincipalType
}

// shortARN drops an ARN's partition, service, region and account, which a table column has no
// room for: arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc reads assumed-role/web-waf/i-0abc.
// Anything else is returned as it is.
func shortARN(s string) string {
	if parts := strings.SplitN(s, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[5] != "" {
		return parts[5]
	}
	return s
}
