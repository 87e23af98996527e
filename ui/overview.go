package ui

import (
	"context"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strconv"
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
	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// Time range choices of the dashboard.
const (
	rangeDay    = "Last 24 hours of the data"
	rangeWeek   = "Last 7 days of the data"
	rangeAll    = "All"
	rangeCustom = "Custom…"
)

// legends say in one sentence what each direction holds.
var legends = map[string]string{
	cloudtrail.Inbound:  "calls into the account from outside addresses.",
	cloudtrail.Internal: "calls by AWS services, from private or VPC-endpoint addresses, or from trusted networks.",
	cloudtrail.Outbound: "data or access leaving the account: object and secret reads, sharing and grants to others.",
}

// overview is the "Security Events Overview" dashboard.
type overview struct {
	v       *caseView
	content fyne.CanvasObject

	rangeSel   *widget.Select
	custom     *fyne.Container
	fromEntry  *widget.Entry
	toEntry    *widget.Entry
	rangeLabel *widget.Label
	eventsTile *tile
	riskTiles  [11]*tile
	charts     map[string]*chartView
	top        *widget.List
	listed     []finding.Anomaly // the list's anomalies: those in range, less the benign ones when hidden
	hideBenign *widget.Check
	topLabel   *widget.Label
	export     *widget.Button  // writes the anomalies in range to a file
	indicators *fyne.Container // a button per rule with matches in range

	data       app.Overview
	bin        time.Duration
	seq        int // load generation, to drop stale results
	pending    int // charts still to draw for the current data
	chartsDone func()
}

func newOverview(v *caseView) *overview {
	o := &overview{v: v, charts: map[string]*chartView{}, bin: 5 * time.Minute}
	// Labels, not canvas.Text, so that the colour follows a theme change.
	heading := widget.NewLabelWithStyle("Security Events Overview", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameHeadingText
	o.rangeLabel = widget.NewLabel("")
	o.fromEntry = widget.NewEntry()
	o.fromEntry.SetPlaceHolder("from 2024-05-09 20:00")
	o.toEntry = widget.NewEntry()
	o.toEntry.SetPlaceHolder("to 2024-05-10 00:00")
	apply := widget.NewButton("Apply", o.load)
	o.custom = container.NewHBox(container.NewGridWrap(fyne.NewSize(170, 36), o.fromEntry),
		container.NewGridWrap(fyne.NewSize(170, 36), o.toEntry), apply)
	o.custom.Hide()
	o.rangeSel = widget.NewSelect([]string{rangeDay, rangeWeek, rangeAll, rangeCustom}, func(s string) {
		o.custom.Hidden = s != rangeCustom
		o.custom.Refresh()
		if s != rangeCustom {
			o.load()
		}
	})
	o.rangeSel.Selected = rangeDay

	o.eventsTile = newTile("Events in range", theme.Color(theme.ColorNamePrimary), nil)
	tiles := []fyne.CanvasObject{o.eventsTile}
	for r := 10; r >= 1; r-- {
		r := r
		o.riskTiles[r] = newTile(fmt.Sprintf("Risk %d", r), severityColor(r), func() { o.openTopOfRisk(r) })
		tiles = append(tiles, o.riskTiles[r])
	}
	tileRow := container.NewGridWithColumns(len(tiles), tiles...)
	// Rule indicators: each rule with matches in range, highest severity first.
	o.indicators = container.NewHBox()
	// The charts mark where rules matched with triangles on their time axes.
	indicatorRow := container.NewBorder(nil, nil, bold("Rule matches ▲"), nil, container.NewHScroll(o.indicators))

	var stacked []fyne.CanvasObject
	for _, dir := range app.Directions() {
		cv := newChartView(o, dir)
		o.charts[dir] = cv
		title := widget.NewLabelWithStyle(strings.ToUpper(dir[:1])+dir[1:], fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.SizeName = theme.SizeNameSubHeadingText
		legend := widget.NewLabelWithStyle(legends[dir], fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
		legend.Truncation = fyne.TextTruncateEllipsis
		stacked = append(stacked, container.NewBorder(container.NewBorder(nil, nil, title, nil, legend), nil, nil, nil, cv))
	}
	charts := container.NewGridWithRows(3, stacked...)

	o.topLabel = widget.NewLabelWithStyle("Top anomalies", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	o.top = widget.NewList(func() int { return min(len(o.listed), 100) },
		func() fyne.CanvasObject { return newAnomalyRow() },
		func(id widget.ListItemID, obj fyne.CanvasObject) {
			if id < len(o.listed) {
				a := o.listed[id]
				r, ok := o.data.AnomalyRules[a.ID]
				obj.(*fyne.Container).Objects[0].(*anomalyRow).set(a, r, ok)
			}
		})
	o.top.OnSelected = func(id widget.ListItemID) {
		o.top.UnselectAll()
		if id < len(o.listed) {
			o.v.openAnomaly(o.listed[id])
		}
	}
	// Triage: what was found benign can leave the list.
	o.hideBenign = widget.NewCheck("Hide benign", func(bool) { o.refreshList() })
	o.export = widget.NewButtonWithIcon("Export…", theme.DownloadIcon(), o.chooseExport)
	o.export.Importance = widget.LowImportance
	o.export.Disable() // until anomalies are in range
	topHead := container.NewBorder(nil, nil, nil, container.NewHBox(o.hideBenign, o.export), o.topLabel)
	split := container.NewHSplit(charts, container.NewBorder(topHead, nil, nil, nil, o.top))
	split.Offset = 0.7

	header := container.NewBorder(nil, nil, heading, container.NewHBox(o.custom, container.NewGridWrap(fyne.NewSize(250, 36), o.rangeSel)), o.rangeLabel)
	o.content = container.NewBorder(container.NewVBox(header, tileRow, indicatorRow), nil, nil, nil, split)
	return o
}

// minRangeBins is the fewest bins a range of the data is cut to.
const minRangeBins = 12

// rangeFor turns the range choice into a half-open interval over the case's data. The last day
// or week of a case that holds less than that is cut to where its data starts (but to no fewer
// than minRangeBins bins): an hour-long export then fills the charts instead of their last
// twenty-fourth.
func rangeFor(choice string, first, last time.Time, bin time.Duration, customFrom, customTo string) (time.Time, time.Time, error) {
	end := last.Truncate(bin).Add(bin)
	start := first.Truncate(bin)
	if floor := end.Add(-minRangeBins * bin); floor.Before(start) {
		start = floor
	}
	lastSpan := func(d time.Duration) (time.Time, time.Time, error) {
		from := end.Add(-d)
		if from.Before(start) {
			from = start
		}
		return from, end, nil
	}
	switch choice {
	case rangeWeek:
		return lastSpan(7 * 24 * time.Hour)
	case rangeAll:
		return first.Truncate(bin), end, nil
	case rangeCustom:
		from, err := parseWhen(customFrom)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("from: %w", err)
		}
		to, err := parseWhen(customTo)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("to: %w", err)
		}
		if !to.After(from) {
			return time.Time{}, time.Time{}, fmt.Errorf("the range ends before it starts")
		}
		return from, to, nil
	}
	return lastSpan(24 * time.Hour)
}

// parseWhen reads a time the way analysts type it, in UTC.
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2024-05-09 20:00 (UTC)", s)
}

// load reads the dashboard's data for the chosen range and draws it.
func (o *overview) load() {
	o.seq++
	seq := o.seq
	choice, cf, ct := o.rangeSel.Selected, o.fromEntry.Text, o.toEntry.Text
	type result struct {
		ov  app.Overview
		bin time.Duration
	}
	do(o.v, func(ctx context.Context) (result, error) {
		bin, err := o.v.c.Bin(ctx)
		if err != nil {
			return result{}, err
		}
		first, last, ok, err := o.v.c.TimeBounds(ctx)
		if err != nil {
			return result{}, err
		}
		if !ok {
			return result{ov: app.Overview{}, bin: bin}, nil
		}
		from, to, err := rangeFor(choice, first, last, bin, cf, ct)
		if err != nil {
			return result{}, err
		}
		ov, err := o.v.c.Overview(ctx, from, to)
		return result{ov, bin}, err
	}, func(r result, err error) {
		if seq != o.seq {
			return
		}
		if err != nil {
			o.rangeLabel.SetText(err.Error())
			return
		}
		o.apply(r.ov, r.bin)
	})
}

// apply shows loaded data: tiles, list and charts.
func (o *overview) apply(ov app.Overview, bin time.Duration) {
	o.data, o.bin = ov, bin
	if ov.From.IsZero() {
		o.rangeLabel.SetText("No events yet: import CloudTrail logs in Sources.")
	} else {
		o.rangeLabel.SetText(fmt.Sprintf("%s – %s UTC", ov.From.Format("Jan 2 15:04"), ov.To.Format("Jan 2 15:04")))
	}
	o.eventsTile.setValue(count(ov.Events), true)
	for r := 1; r <= 10; r++ {
		o.riskTiles[r].setValue(strconv.Itoa(ov.RiskCounts[r]), ov.RiskCounts[r] > 0)
	}
	o.showIndicators(ov)
	if len(ov.Anomalies) > 0 {
		o.export.Enable()
	} else {
		o.export.Disable()
	}
	o.refreshList()
	o.pending = len(o.charts)
	for dir, cv := range o.charts {
		var anoms []finding.Anomaly
		for _, a := range ov.Anomalies {
			if a.Direction == dir {
				anoms = append(anoms, a)
			}
		}
		var rules []app.RuleMark
		for _, m := range ov.RuleMarks {
			if m.Direction == dir {
				rules = append(rules, m)
			}
		}
		cv.setData(ov.Series[dir], anoms, rules, ov.From, ov.To, bin)
	}
}

// showIndicators lists the rules with matches in range; choosing one searches them.
func (o *overview) showIndicators(ov app.Overview) {
	o.indicators.Objects = indicatorButtons(o.v, ov.Indicators, ov.From, ov.To)
	if len(ov.Indicators) == 0 && o.v.ruling {
		o.indicators.Objects = []fyne.CanvasObject{widget.NewLabel("the rules are running…")}
	}
	o.indicators.Refresh()
}

// indicatorButtons makes a button per rule with matches from one time to another, coloured by
// severity, that searches those matches (what the rule matched, not all its query finds: a
// burst rule's are fewer); "none in range" when there are none.
func indicatorButtons(v *caseView, hits []app.RuleHits, from, to time.Time) []fyne.CanvasObject {
	if len(hits) == 0 {
		return []fyne.CanvasObject{widget.NewLabel("none in range")}
	}
	var out []fyne.CanvasObject
	for _, h := range hits {
		r := h.Rule
		b := widget.NewButton(fmt.Sprintf("%d · %s · %s", r.Severity, r.Name, counted(h.Events, "event", "events")), func() {
			q, err := andQuery(windowQuery(from, to), app.MatchesQuery(r))
			if err != nil {
				v.s.showError("rule "+r.Name, err)
				return
			}
			v.investigate(q)
		})
		b.Importance = levelImportance(r.Severity)
		out = append(out, b)
	}
	return out
}

// chartDrawn is called by each chart once it has drawn the current data.
func (o *overview) chartDrawn() {
	if o.pending > 0 {
		o.pending--
		if o.pending == 0 {
			o.v.s.dashboardReady()
			if o.chartsDone != nil {
				o.chartsDone()
			}
		}
	}
}

// refreshList lists the anomalies in range, less those found benign when they are hidden.
func (o *overview) refreshList() {
	o.listed = o.listed[:0]
	byVerdict := map[string]int{}
	for _, a := range o.data.Anomalies {
		byVerdict[a.Verdict]++
		if a.Verdict == finding.VerdictBenign && o.hideBenign.Checked {
			continue
		}
		o.listed = append(o.listed, a)
	}
	// How far triage has come: the verdicts given in range, the most serious first.
	parts := []string{fmt.Sprintf("%d in range", len(o.data.Anomalies))}
	for i := len(finding.Verdicts) - 1; i >= 0; i-- {
		if n := byVerdict[finding.Verdicts[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, finding.Verdicts[i]))
		}
	}
	if n := byVerdict[finding.VerdictBenign]; n > 0 && o.hideBenign.Checked {
		parts[len(parts)-1] += " (hidden)"
	}
	o.topLabel.SetText("Top anomalies (" + strings.Join(parts, " · ") + ")")
	o.top.Refresh()
}

// redraw draws the charts again, after a theme change.
func (o *overview) redraw() {
	for _, cv := range o.charts {
		cv.render()
	}
	o.top.Refresh()
}

// openTopOfRisk opens the drilldown of the highest-scored anomaly of one risk level in range.
func (o *overview) openTopOfRisk(risk int) {
	for _, a := range o.data.Anomalies {
		if a.Risk == risk {
			o.v.openAnomaly(a)
			return
		}
	}
}

// openByID opens the drilldown of an anomaly in the loaded data.
func (o *overview) openByID(id string) {
	for _, a := range o.data.Anomalies {
		if a.ID == id {
			o.v.openAnomaly(a)
			return
		}
	}
}

// tile is a dashboard number with a caption and a colour; tapping it does something when set.
type tile struct {
	widget.BaseWidget
	caption string
	accent  color.Color
	onTap   func()
	active  bool

	bg     *canvas.Rectangle
	stripe *canvas.Rectangle
	value  *canvas.Text
	label  *canvas.Text
}

func newTile(caption string, accent color.Color, onTap func()) *tile {
	t := &tile{caption: caption, accent: accent, onTap: onTap}
	t.bg = canvas.NewRectangle(color.Transparent)
	t.bg.CornerRadius = 4
	t.stripe = canvas.NewRectangle(accent)
	t.value = canvas.NewText("–", theme.Color(theme.ColorNameForeground))
	t.value.TextSize = 22
	t.value.TextStyle.Bold = true
	t.label = canvas.NewText(caption, theme.Color(theme.ColorNameForeground))
	t.label.TextSize = 11
	t.ExtendBaseWidget(t)
	return t
}

// setValue shows a number; an inactive tile is dimmed and ignores taps.
func (t *tile) setValue(v string, active bool) {
	t.value.Text = v
	t.active = active
	t.Refresh()
}

// Tapped opens what the tile stands for.
func (t *tile) Tapped(*fyne.PointEvent) {
	if t.active && t.onTap != nil {
		t.onTap()
	}
}

// Cursor shows a hand over a tile that can be tapped.
func (t *tile) Cursor() desktop.Cursor {
	if t.active && t.onTap != nil {
		return desktop.PointerCursor
	}
	return desktop.DefaultCursor
}

// Refresh applies the theme and the active state.
func (t *tile) Refresh() {
	fg := theme.Color(theme.ColorNameForeground)
	a := color.NRGBAModel.Convert(t.accent).(color.NRGBA)
	if t.active {
		a.A = 0x38
		t.value.Color = fg
	} else {
		a.A = 0x10
		t.value.Color = theme.Color(theme.ColorNameDisabled)
	}
	t.bg.FillColor = a
	t.label.Color = fg
	t.BaseWidget.Refresh()
}

// CreateRenderer lays the tile out: a coloured stripe at the top, the number, the caption.
func (t *tile) CreateRenderer() fyne.WidgetRenderer {
	t.stripe.SetMinSize(fyne.NewSize(0, 4))
	body := container.NewBorder(t.stripe, nil, nil, nil,
		container.NewPadded(container.NewVBox(container.NewCenter(t.value), container.NewCenter(t.label))))
	return widget.NewSimpleRenderer(container.NewStack(t.bg, body))
}

// anomalyRow is one line of the top anomalies list: a risk badge, the title, and below it the
// rule that matched one of its events, if one did, then when and what.
type anomalyRow struct {
	widget.BaseWidget
	badge   *canvas.Rectangle
	risk    *canvas.Text
	title   *widget.Label
	verdict *canvas.Text // the analyst's verdict, when given
	rule    *canvas.Text
	when    *canvas.Text
}

func newAnomalyRow() fyne.CanvasObject {
	r := &anomalyRow{badge: canvas.NewRectangle(color.Black), risk: canvas.NewText("10", color.White),
		title: widget.NewLabel("title"), when: canvas.NewText("Jan 02 15:04 outbound", theme.Color(theme.ColorNamePlaceHolder)),
		rule: canvas.NewText("", color.Black), verdict: canvas.NewText("", color.Black)}
	r.badge.CornerRadius = 4
	r.verdict.TextSize = 11
	r.verdict.TextStyle.Bold = true
	r.risk.TextStyle.Bold = true
	r.risk.Alignment = fyne.TextAlignCenter
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.when.TextSize = 11
	r.rule.TextSize = 11
	r.rule.TextStyle.Bold = true
	r.ExtendBaseWidget(r)
	return container.NewStack(r)
}

func (r *anomalyRow) set(a finding.Anomaly, rule store.Rule, matched bool) {
	r.verdict.Text, r.verdict.Color = "", theme.Color(importanceColor(verdictImportance(a.Verdict)))
	if a.Verdict != "" {
		r.verdict.Text = a.Verdict + " ·"
		r.verdict.Show()
	} else {
		r.verdict.Hide()
	}
	r.verdict.Refresh()
	if matched {
		r.rule.Text = "rule: " + rule.Name + " ·"
		r.rule.Color = severityColor(rule.Severity)
		r.rule.Show()
	} else {
		r.rule.Text = ""
		r.rule.Hide()
	}
	r.rule.Refresh()
	r.badge.FillColor = severityColor(a.Risk)
	r.risk.Text = strconv.Itoa(a.Risk)
	r.title.SetText(a.Title)
	r.when.Text = a.WindowStart.UTC().Format("Jan 02 15:04") + " UTC · " + a.Direction + " · " + a.EntityType + " " + a.Entity
	r.when.Color = theme.Color(theme.ColorNamePlaceHolder)
	r.when.Refresh()
	r.badge.Refresh()
	r.risk.Refresh()
}

// CreateRenderer puts the badge left of the title and time.
func (r *anomalyRow) CreateRenderer() fyne.WidgetRenderer {
	badge := container.NewGridWrap(fyne.NewSize(30, 30), container.NewStack(r.badge, container.NewCenter(r.risk)))
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewCenter(badge), nil,
		container.NewVBox(r.title, container.NewPadded(container.NewHBox(r.verdict, r.rule, r.when)))))
}

// chooseExport asks in which form to export the anomalies in range, then where.
func (o *overview) chooseExport() {
	as := slices.Clone(o.data.Anomalies)
	if len(as) == 0 {
		d := dialog.NewInformation("Export anomalies", "No anomalies in the dashboard's range ("+o.rangeLabel.Text+").", o.v.s.win)
		o.v.trackDialog(d, nil)
		d.Show()
		return
	}
	base := strings.TrimSuffix(filepath.Base(o.v.c.Path()), filepath.Ext(o.v.c.Path()))
	msg := fmt.Sprintf("Export the %s in range (%s), highest risk first:", counted(int64(len(as)), "anomaly", "anomalies"), o.rangeLabel.Text)
	askExport(o.v, "Export anomalies", msg, []exportForm{
		{"CSV — risk, direction, window, entity, title, confidence and every factor", base + "-anomalies.csv"},
		{"JSON lines — each anomaly as `trailscope anomalies --format json` prints it", base + "-anomalies.jsonl"},
	}, func(path string) { o.exportTo(path, as) })
}

// exportTo writes as to path off the UI goroutine and says how it went.
func (o *overview) exportTo(path string, as []finding.Anomaly) {
	do(o.v, func(context.Context) (struct{}, error) {
		err := app.ExportAnomalies(path, as)
		if err != nil {
			dropEmpty(path)
		}
		return struct{}{}, err
	}, func(_ struct{}, err error) {
		if err != nil {
			o.v.s.showError("export", err)
			return
		}
		d := dialog.NewInformation("Export", fmt.Sprintf("Exported %s to %s.", counted(int64(len(as)), "anomaly", "anomalies"), path), o.v.s.win)
		o.v.trackDialog(d, nil)
		d.Show()
	})
}
