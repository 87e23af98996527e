package ui

import (
	"context"
	"fmt"
	"image"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// pivotKind maps an anomaly's entity to the pivot that profiles it.
func pivotKind(entityType string) string {
	switch entityType {
	case finding.EntityIP:
		return app.PivotIP
	case finding.EntityAPI:
		return app.PivotEvent
	}
	return app.PivotPrincipal
}

// pivotTop is how many entries each list of a pivot shows.
const pivotTop = 15

// Largest size of a pivot's dialog, and the height of its timeline, in device-independent pixels.
const (
	pivotW, pivotH = 1100, 820
	timelineH      = 130
)

// pivotLabel names the drilldown's pivot on the anomaly's entity.
func pivotLabel(a finding.Anomaly) string {
	if a.EntityType == finding.EntityAccount {
		return "Pivot on the window"
	}
	return "Pivot on " + a.EntityType
}

// showPivot profiles the anomaly's entity, with the calls it first made inside the anomaly's
// window. An account-wide anomaly (a volume no principal dominates) has no one entity to
// follow: its pivot is the window itself, everyone who was busy in it.
func showPivot(v *caseView, a finding.Anomaly) {
	if a.EntityType == finding.EntityAccount {
		from, to := a.WindowStart, a.WindowEnd
		title := fmt.Sprintf("Pivot: window %s – %s UTC", from.UTC().Format("2006-01-02 15:04"), to.UTC().Format("15:04"))
		showProfile(v, title, windowQuery(from, to), func(ctx context.Context) (*store.Profile, error) {
			return v.c.PivotWindow(ctx, from, to, store.PivotOptions{Top: pivotTop})
		})
		return
	}
	openPivot(v, pivotKind(a.EntityType), a.Entity, store.PivotOptions{Top: pivotTop, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd})
}

// pivotResult is a profile and its timeline drawn, made off the UI goroutine.
type pivotResult struct {
	p        *store.Profile
	timeline image.Image // nil when there is nothing to draw
}

// openPivot profiles one address, principal or call off the UI goroutine and shows what else it
// did: when, from where, which calls with their failures, with which tools. Every address,
// principal and call listed opens its own pivot, so "what else did this address do" leads on to
// "who else ran this call, and when" without leaving the window.
func openPivot(v *caseView, kind, value string, opt store.PivotOptions) {
	showProfile(v, "Pivot: "+kind+" "+value, pivotQuery(kind, value), func(ctx context.Context) (*store.Profile, error) {
		return v.c.Pivot(ctx, kind, value, opt)
	})
}

// showProfile makes a profile with get off the UI goroutine, draws its timeline there too, and
// shows both in a dialog, whose "Search these events" opens the investigator on search.
func showProfile(v *caseView, title, search string, get func(ctx context.Context) (*store.Profile, error)) {
	colors := currentPalette()
	scale := v.s.win.Canvas().Scale()
	win := v.s.win.Canvas().Size()
	size := fyne.NewSize(min(pivotW, win.Width*0.85), min(pivotH, win.Height*0.85))
	chartW := size.Width - 60 // the dialog's padding and scroll bar
	// A pivot on a common call in a big case reads for seconds: past pivotWait a dialog says it
	// is working, and its Cancel (or Escape) stops the reading.
	ctx, cancel := context.WithCancel(v.ctx)
	finished := false
	var wait dialog.Dialog
	bar := widget.NewProgressBarInfinite()
	v.s.b.later(pivotWait, func() {
		if finished {
			return
		}
		wait = dialog.NewCustom(title, "Cancel", container.NewVBox(widget.NewLabel("Reading the case…"), bar), v.s.win)
		v.trackDialog(wait, cancel)
		wait.Show()
	})
	read := func(ctx context.Context) (pivotResult, error) {
		p, err := get(ctx)
		if err != nil {
			return pivotResult{}, err
		}
		r := pivotResult{p: p}
		if pts, from, to, bin := timelinePoints(p); len(pts) > 0 {
			// The image is drawn at the screen's pixel density and shown at its logical size.
			img, _, err := renderChart(chartSpec{Points: pts, From: from, To: to, Bin: bin, Bars: true,
				W: int(chartW * scale), H: int(timelineH * scale), DPI: 96 * float64(scale), Colors: colors})
			if err == nil {
				r.timeline = img
			}
		}
		return r, nil
	}
	do(v, func(context.Context) (pivotResult, error) { return read(ctx) }, func(r pivotResult, err error) {
		finished = true
		if wait != nil {
			wait.Hide()
			bar.Stop() // hidden, it would go on animating (see stopBars)
		}
		cancel()
		if err != nil {
			v.s.showError(strings.ToLower(title[:1])+title[1:], err)
			return
		}
		body := container.NewVScroll(pivotContent(v, r, chartW, search))
		d := dialog.NewCustomWithoutButtons(title, body, v.s.win)
		// For a ticket or a report: the profile as aligned text, under the pivot's title.
		copyText := widget.NewButtonWithIcon("Copy as text", theme.ContentCopyIcon(), func() {
			v.s.app.Clipboard().SetContent(title + "\n\n" + profileText(r.p))
		})
		// Every event behind the profile, one by one: the pivots give way to the investigator.
		searchAll := widget.NewButtonWithIcon("Search these events", theme.SearchIcon(), func() {
			v.closeDialogs()
			v.investigate(search)
		})
		buttons := []fyne.CanvasObject{searchAll, copyText, widget.NewButton("Close", d.Hide)}
		if len(v.dialogs) > 0 {
			// A pivot opened from another goes back to it, as Escape does, or closes them all.
			buttons = []fyne.CanvasObject{searchAll, copyText, widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), d.Hide),
				widget.NewButton("Close all", v.closeDialogs)}
		}
		d.SetButtons(buttons)
		d.Resize(size)
		// A rules run that adds matches reads the profile again, for its "Rules that matched";
		// the scroll stays where the analyst left it.
		reread := func() {
			do(v, read, func(nr pivotResult, err error) {
				if _, open := v.pivots[d]; err != nil || !open {
					return
				}
				r = nr
				off := body.Offset
				body.Content = pivotContent(v, r, chartW, search)
				body.Refresh()
				body.ScrollToOffset(off)
			})
		}
		v.pivots[d] = reread
		v.trackDialog(d, func() { delete(v.pivots, d) })
		d.Show()
	})
}

// pivotWait is how long a pivot reads before a dialog says so. (A variable for tests.)
var pivotWait = 300 * time.Millisecond

// closeDialogs closes the pivots and every other dialog Escape would close.
func (v *caseView) closeDialogs() {
	for _, d := range slices.Clone(v.dialogs) {
		d.Hide()
	}
}

// trackDialog keeps d among the dialogs that Escape closes, latest first, until it closes;
// closing it also calls closed, when set.
func (v *caseView) trackDialog(d dialog.Dialog, closed func()) {
	v.dialogs = append(v.dialogs, d)
	d.SetOnClosed(func() {
		v.dialogs = slices.DeleteFunc(v.dialogs, func(o dialog.Dialog) bool { return o == d })
		if closed != nil {
			closed()
		}
	})
}

// timelinePoints is a profile's timeline as a series, with the range it spans.
func timelinePoints(p *store.Profile) (pts []finding.Point, from, to time.Time, bin time.Duration) {
	if len(p.Timeline) == 0 || p.BinSeconds <= 0 {
		return nil, from, to, 0
	}
	bin = time.Duration(p.BinSeconds) * time.Second
	for _, b := range p.Timeline {
		pts = append(pts, finding.Point{BinStart: b.Start, Observed: float64(b.Events)})
	}
	// A bin of margin on each side keeps the first and last bars off the axes.
	return pts, p.Timeline[0].Start.Add(-bin), p.Timeline[len(p.Timeline)-1].Start.Add(2 * bin), bin
}

// pivotContent lays a profile out: a summary line, the timeline, the rules that matched its
// events, then each list, with every value that has a pivot of its own as a link to it. search is
// the query of the profile's events.
func pivotContent(v *caseView, r pivotResult, chartW float32, search string) fyne.CanvasObject {
	p := r.p
	if p.Events == 0 {
		noun := map[string]string{app.PivotIP: "address", app.PivotEvent: "call", app.PivotKey: "key"}[p.Kind]
		if noun == "" {
			noun = p.Kind // principal, window
		}
		return widget.NewLabel("No events in the case for this " + noun + ".")
	}
	summary := fmt.Sprintf("%s events (%s failed) · first %s · last %s UTC", count(p.Events), count(p.Failures),
		p.FirstSeen.UTC().Format("2006-01-02 15:04:05"), p.LastSeen.UTC().Format("2006-01-02 15:04:05"))
	if r.timeline != nil {
		// The bars' width changes with the span (5 minutes, or an hour past two days): say it.
		summary += " · bars: events per " + binWords(p.BinSeconds)
	}
	box := container.NewVBox(widget.NewLabel(summary))
	if r.timeline != nil {
		img := canvas.NewImageFromImage(r.timeline)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(chartW, timelineH))
		box.Add(img)
	}
	link := func(text, kind, value string) fyne.CanvasObject {
		if value == "" {
			l := widget.NewLabel(text)
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		}
		h := widget.NewHyperlink(text, nil)
		h.Truncation = fyne.TextTruncateEllipsis
		h.OnTapped = func() { openPivot(v, kind, value, store.PivotOptions{Top: pivotTop}) }
		return h
	}
	calls := func(title string, apis []store.APICount, counts bool) {
		if len(apis) == 0 {
			return
		}
		box.Add(bold(title))
		for _, a := range apis {
			name := link(a.EventName, app.PivotEvent, a.EventName)
			if !counts {
				box.Add(container.NewBorder(nil, nil, nil, faint(a.EventSource), name))
				continue
			}
			box.Add(container.NewBorder(nil, nil, nil, container.NewGridWrap(fyne.NewSize(220, 36),
				numbers(count(a.Success)+" succeeded", count(a.Failure)+" failed")), name))
		}
	}
	if len(p.Rules) > 0 {
		// What the rules found among these events: each searches its matches here.
		box.Add(bold("Rules that matched"))
		for _, rc := range p.Rules {
			h := widget.NewHyperlink(fmt.Sprintf("%d %s · %s", rc.Severity, finding.Severity(rc.Severity), rc.Name), nil)
			h.Truncation = fyne.TextTruncateEllipsis
			name := rc.Name
			h.OnTapped = func() {
				q, err := andQuery(search, query.FieldValue(query.RuleField, name))
				if err != nil {
					v.s.showError("rule "+name, err)
					return
				}
				v.closeDialogs()
				v.investigate(q)
			}
			box.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(90, 36), numbers(count(rc.Events))), nil, h))
		}
	}
	calls("First used inside the anomaly's window", p.NewAPIs, false)
	calls("Calls", p.APIs, true)
	section := func(title, kind string, cs []store.Count) {
		if len(cs) == 0 {
			return
		}
		box.Add(bold(title))
		for _, c := range cs {
			value := ""
			if kind != "" && pivotable(kind, c.Value) {
				value = c.Value
			}
			box.Add(container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSize(90, 36), numbers(count(c.Events))), nil,
				link(c.Value, kind, value)))
		}
	}
	section("Identities", "", p.Identities)
	section("Principals", app.PivotPrincipal, p.Principals)
	section("Addresses", app.PivotIP, p.Addresses)
	section("User agents", "", p.UserAgents)
	section("Regions", "", p.Regions)
	return box
}

// pivotable reports whether a listed value has a pivot of its own: principals by their ARN (a
// user name alone is no principal_arn), any other value when there is one. A source that is an
// AWS service's name ("s3.amazonaws.com", "AWS Internal") pivots too: on whose behalf it called.
func pivotable(kind, value string) bool {
	if kind == app.PivotPrincipal {
		return strings.HasPrefix(value, "arn:")
	}
	return value != ""
}

// numbers lays counts out right-aligned, side by side.
func numbers(texts ...string) fyne.CanvasObject {
	row := container.New(layout.NewGridLayout(len(texts)))
	for _, t := range texts {
		row.Add(widget.NewLabelWithStyle(t, fyne.TextAlignTrailing, fyne.TextStyle{}))
	}
	return row
}

// faint is a label of lesser importance.
func faint(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	return l
}

// profileText writes a profile as aligned plain text.
func profileText(p *store.Profile) string {
	if p.Events == 0 {
		return "No events.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d events (%d failed), first %s, last %s\n", p.Events, p.Failures,
		p.FirstSeen.UTC().Format("2006-01-02 15:04:05"), p.LastSeen.UTC().Format("2006-01-02 15:04:05"))
	if len(p.NewAPIs) > 0 {
		b.WriteString("\nFirst used inside the anomaly's window\n")
		for _, a := range p.NewAPIs {
			fmt.Fprintf(&b, "  %-40s %s\n", a.EventName, a.EventSource)
		}
	}
	if len(p.APIs) > 0 {
		b.WriteString("\nCalls                                      succeeded   failed\n")
		for _, a := range p.APIs {
			fmt.Fprintf(&b, "  %-40s %9d %8d\n", a.EventName, a.Success, a.Failure)
		}
	}
	section := func(title string, cs []store.Count) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "  %9d  %s\n", c.Events, c.Value)
		}
	}
	if len(p.Rules) > 0 {
		b.WriteString("\nRules that matched\n")
		for _, rc := range p.Rules {
			fmt.Fprintf(&b, "  %9d  %s (severity %d)\n", rc.Events, rc.Name, rc.Severity)
		}
	}
	section("Identities", p.Identities)
	section("Principals", p.Principals)
	section("Addresses", p.Addresses)
	section("User agents", p.UserAgents)
	section("Regions", p.Regions)
	return b.String()
}

// binWords names a timeline bin: "5 min", "hour", "6 hours".
func binWords(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d == time.Hour:
		return "hour"
	case d > time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
