package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// eventPage is how many event rows the drilldown reads at once.
const eventPage = 200

// maxPages bounds the pages kept in memory; the table reads others again when scrolled to.
const maxPages = 16

// drilldown shows one anomaly: why it stands out, the events and addresses of its window, and
// every field of the event selected.
type drilldown struct {
	v       *caseView
	a       finding.Anomaly
	content fyne.CanvasObject

	total      int
	pages      map[int][]store.ViewEvent
	loading    map[int]bool
	events     *keyTable
	eventsHead *widget.Label

	addrs     []store.ViewAddress
	addrTable *keyTable

	fields      []field
	fieldsTable *keyTable
	fieldsHead  *widget.Label
	selected    int64 // row id of the event shown, 0 when none
	// Pivots on the event shown: what else its address did, who else made its call, what else
	// its principal did.
	pivotAddr, pivotCall, pivotPrincipal *widget.Button
	copyBtn                              *widget.Button  // Copy JSON, enabled once an event is shown
	indicators                           *fyne.Container // a button per rule with matches in the window
	rules                                []app.RuleHits  // the rules with matches in the window
	related                              *fyne.Container // a button per other anomaly of its entity and addresses
	near                                 []finding.Anomaly
	verdict                              *widget.Button // the analyst's verdict on the anomaly; changes it
	prev, next                           *widget.Button // the anomaly before and after it in the overview's list
	position                             *widget.Label  // where it stands in that list
}

// setVerdict shows the anomaly's verdict on its button.
func (d *drilldown) setVerdict(a finding.Anomaly) {
	d.a.Verdict, d.a.Note = a.Verdict, a.Note
	d.verdict.SetText(verdictText(a.Verdict))
	d.verdict.Importance = verdictImportance(a.Verdict)
	if a.Verdict == "" {
		d.verdict.Importance = widget.MediumImportance
	}
	d.verdict.Refresh()
}

// maxRelated bounds the related anomalies a drilldown lists.
const maxRelated = 50

// field is one leaf of an event's JSON, by its path.
type field struct{ Key, Value string }

var eventColumns = []column[store.ViewEvent]{
	{"", 28, func(e store.ViewEvent) string {
		if e.Marked {
			return "●" // one of the anomaly's own events
		}
		return ""
	}},
	{"Time (UTC)", 150, func(e store.ViewEvent) string { return e.Time.Format("2006-01-02 15:04:05") }},
	{"Event", 190, func(e store.ViewEvent) string { return e.EventName }},
	{"Rule", 200, func(e store.ViewEvent) string { return e.Rule }}, // the rule that matched it, if any
	{"Source", 170, func(e store.ViewEvent) string { return e.EventSource }},
	{"Address", 130, func(e store.ViewEvent) string { return e.SourceIP }},
	{"Principal", 300, func(e store.ViewEvent) string { return shortARN(e.Principal) }},
	{"Error", 140, func(e store.ViewEvent) string { return e.ErrorCode }},
	{"Direction", 90, func(e store.ViewEvent) string { return e.Direction }},
}

func newDrilldown(v *caseView, a finding.Anomaly) *drilldown {
	d := &drilldown{v: v, a: a, pages: map[int][]store.ViewEvent{}, loading: map[int]bool{}}

	backTo := "Overview"
	if n := len(v.trail); n > 0 {
		backTo = fmt.Sprintf("Back to %d · %s", v.trail[n-1].Risk, v.trail[n-1].WindowStart.UTC().Format("15:04"))
	}
	back := widget.NewButtonWithIcon(backTo, theme.NavigateBackIcon(), v.back)
	badge := newTile(fmt.Sprintf("Risk %d · %s", a.Risk, finding.Severity(a.Risk)), severityColor(a.Risk), nil)
	badge.setValue(strconv.Itoa(a.Risk), true)
	title := widget.NewLabelWithStyle(a.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis
	sub := widget.NewLabel(fmt.Sprintf("%s · %s – %s UTC · %s %s", a.Direction,
		a.WindowStart.UTC().Format("2006-01-02 15:04"), a.WindowEnd.UTC().Format("15:04"), a.EntityType, a.Entity))
	sub.Truncation = fyne.TextTruncateEllipsis
	if a.Confidence != "" && a.Confidence != "full" {
		sub.SetText(sub.Text + " · confidence: " + a.Confidence)
	}
	d.verdict = widget.NewButtonWithIcon("", theme.ConfirmIcon(), func() { v.askVerdict(d.a, v.verdictChanged) })
	d.setVerdict(a)
	actions := container.NewHBox(
		d.verdict,
		widget.NewButtonWithIcon(pivotLabel(a), theme.SearchIcon(), func() { showPivot(v, a) }),
		widget.NewButtonWithIcon("Open in investigator", theme.ZoomInIcon(), func() { v.investigate(anomalyQuery(a)) }),
		// For a ticket or a report: the anomaly, why, the rules and addresses of its window.
		widget.NewButtonWithIcon("Copy as text", theme.ContentCopyIcon(), func() {
			v.s.app.Clipboard().SetContent(anomalyText(d.a, d.rules, d.near, d.addrs, d.total))
		}),
	)
	left := container.NewHBox(back)
	// Down the overview's list, one anomaly after another (also the N and P keys).
	if i := v.listPosition(a.ID); i >= 0 && len(v.trail) == 0 {
		d.prev = widget.NewButtonWithIcon("", theme.NavigateBackIcon(), func() { v.step(-1) })
		d.next = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() { v.step(1) })
		if i == 0 {
			d.prev.Disable()
		}
		if i+1 >= len(v.overview.listed) {
			d.next.Disable()
		}
		d.position = widget.NewLabel(fmt.Sprintf("%d of %d", i+1, len(v.overview.listed)))
		left.Add(container.NewVBox(container.NewHBox(d.prev, d.next), d.position))
	}
	left.Add(container.NewGridWrap(fyne.NewSize(110, 64), badge))
	header := container.NewBorder(nil, nil, left, actions, container.NewVBox(title, sub))

	// The explanation: one row per factor.
	factors := newHeaderTable([]string{"Factor", "Observed", "Baseline", "Label"}, []float32{300, 380, 300, 110},
		func() int { return len(a.Factors) },
		func(id widget.TableCellID, l *widget.Label) {
			f := a.Factors[id.Row]
			l.Importance = widget.MediumImportance
			switch id.Col {
			case 0:
				l.SetText(f.Name)
			case 1:
				l.SetText(formatValue(f.Observed))
			case 2:
				l.SetText(formatValue(f.Baseline))
			case 3:
				l.Importance = labelImportance(f.Label)
				l.SetText(f.Label)
			}
		})
	var why fyne.CanvasObject = container.NewBorder(bold("Why it stands out"), nil, nil, nil, factors)
	if len(a.Factors) == 0 {
		why = widget.NewLabel("No factors recorded for this anomaly.")
	}

	d.eventsHead = widget.NewLabelWithStyle("Events in the window", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	d.events = newColumnTable(eventColumns, func() int { return d.total }, d.row)
	d.events.OnSelected = func(id widget.TableCellID) {
		if e, ok := d.row(id.Row); ok {
			d.showEvent(e)
		}
	}

	d.addrTable = newHeaderTable([]string{"Address", "Calls", "Succeeded", "Failed"}, []float32{230, 70, 90, 70},
		func() int { return len(d.addrs) },
		func(id widget.TableCellID, l *widget.Label) {
			a := d.addrs[id.Row]
			switch id.Col {
			case 0:
				l.SetText(a.Address)
			case 1:
				l.SetText(count(a.Events))
			case 2:
				l.SetText(count(a.Events - a.Failures))
			case 3:
				l.SetText(count(a.Failures))
			}
		})
	// Choosing an address asks what else it did, over the whole case.
	d.addrTable.OnSelected = func(id widget.TableCellID) {
		d.addrTable.Unselect(id) // so that choosing it again pivots again
		if id.Row < len(d.addrs) && pivotable(app.PivotIP, d.addrs[id.Row].Address) {
			openPivot(v, app.PivotIP, d.addrs[id.Row].Address, store.PivotOptions{Top: pivotTop})
		}
	}
	d.fieldsHead = widget.NewLabelWithStyle("Select an event to see every field", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	d.fieldsHead.Truncation = fyne.TextTruncateEllipsis // naming the event, it must not widen the window
	d.fieldsTable = newFieldsTable(&d.fields)
	// Choosing a field searches the window for events with the same value.
	d.fieldsTable.OnSelected = func(id widget.TableCellID) {
		d.fieldsTable.Unselect(id)
		if id.Row >= len(d.fields) {
			return
		}
		q, err := addFieldTo(anomalyQuery(a), d.fields[id.Row])
		if err != nil {
			dialog.ShowInformation("Search", err.Error(), v.s.win)
			return
		}
		v.investigate(q)
	}
	copyJSON := widget.NewButtonWithIcon("Copy JSON", theme.ContentCopyIcon(), func() { d.copyJSON() })
	d.pivotAddr = widget.NewButton("Address", nil)
	d.pivotCall = widget.NewButton("Call", nil)
	d.pivotPrincipal = widget.NewButton("Principal", nil)
	d.copyBtn = copyJSON
	for _, b := range []*widget.Button{d.pivotAddr, d.pivotCall, d.pivotPrincipal, copyJSON} {
		b.Disable()
	}
	eventActions := container.NewHBox(widget.NewLabel("Pivot on its"), d.pivotAddr, d.pivotCall, d.pivotPrincipal, copyJSON)

	eventsPane := container.NewBorder(d.eventsHead, nil, nil, nil, d.events)
	addrPane := container.NewBorder(bold("Addresses in the window (choose one to pivot on it)"), nil, nil, nil, d.addrTable)
	// The heading on a line of its own, above the buttons: beside them it had room for a few
	// letters of the event's name. What it says last is cut first.
	fieldsPane := container.NewBorder(container.NewVBox(d.fieldsHead, eventActions), nil, nil, nil, d.fieldsTable)
	right := container.NewVSplit(addrPane, fieldsPane)
	right.Offset = 0.3
	lower := container.NewHSplit(eventsPane, right)
	lower.Offset = 0.55
	body := container.NewVSplit(why, lower)
	body.Offset = 0.3
	d.indicators = container.NewHBox()
	rules := container.NewBorder(nil, nil, bold("Rule matches in the window"), nil, container.NewHScroll(d.indicators))
	d.related = container.NewHBox()
	// "A day": app.RelatedSpan.
	related := container.NewBorder(nil, nil, bold(fmt.Sprintf("Related, a day either side, risk %d and up", app.RelatedMinRisk)), nil,
		container.NewHScroll(d.related))
	d.content = container.NewBorder(container.NewVBox(header, rules, related, widget.NewSeparator()), nil, nil, nil, body)
	d.load()
	return d
}

// relatedButtons lists the other anomalies of a's entity and addresses, oldest first, each
// opening its own drilldown: the steps of one intrusion side by side.
func relatedButtons(v *caseView, a finding.Anomaly, near []finding.Anomaly) []fyne.CanvasObject {
	if len(near) == 0 {
		return []fyne.CanvasObject{widget.NewLabel("no other anomaly of this " + a.EntityType + ", of the addresses and principals of its events, or from its outside addresses")}
	}
	out := make([]fyne.CanvasObject, 0, len(near))
	for _, r := range near {
		what := "this " + r.EntityType
		if r.Entity != a.Entity {
			what = r.EntityType + " " + shortARN(r.Entity)
		}
		text := fmt.Sprintf("%d · %s · %s", r.Risk, r.WindowStart.UTC().Format("Jan 02 15:04"), what)
		if r.Verdict != "" {
			text += " · " + r.Verdict
		}
		b := widget.NewButton(text, func() { v.openRelated(r) })
		b.Importance = levelImportance(r.Risk)
		out = append(out, b)
	}
	return out
}

func bold(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func labelImportance(label string) widget.Importance {
	switch label {
	case finding.LabelNew, finding.LabelSpike:
		return widget.DangerImportance
	case finding.LabelRare, finding.LabelDrop:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

// formatValue prints a factor value: numbers compactly, anything else as text.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		if x == float64(int64(x)) {
			return count(int64(x))
		}
		return strconv.FormatFloat(x, 'f', 1, 64)
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// load reads the window's event count, first page and addresses.
func (d *drilldown) load() {
	type head struct {
		total int64
		first []store.ViewEvent
		addrs []store.ViewAddress
		rules []app.RuleHits
		near  []finding.Anomaly
	}
	from, to := d.a.WindowStart, d.a.WindowEnd
	do(d.v, func(ctx context.Context) (head, error) {
		n, err := d.v.c.WindowEventCount(ctx, from, to)
		if err != nil {
			return head{}, err
		}
		first, err := d.v.c.WindowEvents(ctx, from, to, d.a.EventIDs, 0, eventPage)
		if err != nil {
			return head{}, err
		}
		addrs, err := d.v.c.WindowAddresses(ctx, from, to, 500)
		if err != nil {
			return head{}, err
		}
		rules, err := d.v.c.Indicators(ctx, from, to)
		if err != nil {
			return head{}, err
		}
		near, err := d.v.c.RelatedAnomalies(ctx, d.a, maxRelated)
		return head{n, first, addrs, rules, near}, err
	}, func(h head, err error) {
		if err != nil {
			d.v.s.showError("read the window's events", err)
			return
		}
		d.total = int(h.total)
		d.pages[0] = h.first
		d.addrs = h.addrs
		d.rules = h.rules
		d.indicators.Objects = indicatorButtons(d.v, h.rules, from, to)
		d.indicators.Refresh()
		d.near = h.near
		d.related.Objects = relatedButtons(d.v, d.a, h.near)
		d.related.Refresh()
		d.eventsHead.SetText(fmt.Sprintf("Events in the window (%s; ● the anomaly's own %s, listed first)",
			count(h.total), count(int64(len(d.a.EventIDs)))))
		d.events.Refresh()
		d.addrTable.Refresh()
	})
}

// rulesRan reads the window again after a rules run that may have added to it: a drilldown
// opened while the rules' first run went on said "none in range" for good. The events' pages,
// with their Rule column, are read again as they show.
func (d *drilldown) rulesRan() {
	clear(d.pages)
	d.load()
}

// row returns the event at a row when its page is loaded, and starts loading it otherwise.
func (d *drilldown) row(i int) (store.ViewEvent, bool) {
	p := i / eventPage
	if rows, ok := d.pages[p]; ok {
		if i%eventPage < len(rows) {
			return rows[i%eventPage], true
		}
		return store.ViewEvent{}, false
	}
	if !d.loading[p] {
		d.loading[p] = true
		from, to := d.a.WindowStart, d.a.WindowEnd
		do(d.v, func(ctx context.Context) ([]store.ViewEvent, error) {
			return d.v.c.WindowEvents(ctx, from, to, d.a.EventIDs, p*eventPage, eventPage)
		}, func(rows []store.ViewEvent, err error) {
			delete(d.loading, p)
			if err != nil {
				return
			}
			d.evict(p)
			d.pages[p] = rows
			d.events.Refresh()
		})
	}
	return store.ViewEvent{}, false
}

// evict drops the pages furthest from p so that memory stays bounded however far one scrolls.
func (d *drilldown) evict(p int) {
	for len(d.pages) >= maxPages {
		far, dist := -1, -1
		for k := range d.pages {
			if k == 0 {
				continue
			}
			if x := abs(k - p); x > dist {
				far, dist = k, x
			}
		}
		if far < 0 {
			return
		}
		delete(d.pages, far)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// showEvent reads one event's raw JSON and lists every field.
func (d *drilldown) showEvent(e store.ViewEvent) {
	d.selected = e.ID
	d.copyBtn.Enable()
	all := store.PivotOptions{Top: pivotTop}
	setPivot(d.v, d.pivotAddr, app.PivotIP, e.SourceIP, all)
	setPivot(d.v, d.pivotCall, app.PivotEvent, e.EventName, all)
	// The principal's pivot also names the calls it first made inside the anomaly's window.
	setPivot(d.v, d.pivotPrincipal, app.PivotPrincipal, e.Principal,
		store.PivotOptions{Top: pivotTop, WindowStart: d.a.WindowStart, WindowEnd: d.a.WindowEnd})
	d.fieldsHead.SetText(fmt.Sprintf("%s at %s UTC · choose a field to search for it", e.EventName, e.Time.UTC().Format("2006-01-02 15:04:05")))
	id := e.ID
	do(d.v, func(ctx context.Context) ([]field, error) {
		raw, err := d.v.c.EventJSON(ctx, id)
		if err != nil {
			return nil, err
		}
		return flatten(raw)
	}, func(fs []field, err error) {
		if id != d.selected {
			return
		}
		if err != nil {
			d.v.s.showError("read the event", err)
			return
		}
		d.fields = fs
		d.fieldsTable.Refresh()
		d.fieldsTable.ScrollToTop()
	})
}

// setPivot points b at the pivot on value, or disables it when value has none.
func setPivot(v *caseView, b *widget.Button, kind, value string, opt store.PivotOptions) {
	if !pivotable(kind, value) {
		b.OnTapped = nil
		b.Disable()
		return
	}
	b.OnTapped = func() { openPivot(v, kind, value, opt) }
	b.Enable()
}

func (d *drilldown) copyJSON() {
	id := d.selected
	if id == 0 {
		return
	}
	do(d.v, func(ctx context.Context) ([]byte, error) { return d.v.c.EventJSON(ctx, id) }, func(raw []byte, err error) {
		if err != nil {
			return
		}
		d.v.s.app.Clipboard().SetContent(indentJSON(raw))
	})
}

// indentJSON lays out an event's JSON for a person, or returns it as it is when it does not parse.
func indentJSON(raw []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, raw, "", "  ") != nil {
		return string(raw)
	}
	return out.String()
}

// flatten lists every leaf of a JSON object in document order, keyed by its path
// (userIdentity.sessionContext.attributes.mfaAuthenticated, resources[0].ARN).
func flatten(raw []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []field
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				empty := true
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					empty = false
					key := fmt.Sprint(k)
					if path != "" {
						key = path + "." + key
					}
					if err := walk(key); err != nil {
						return err
					}
				}
				if empty && path != "" {
					out = append(out, field{path, "{}"})
				}
			case '[':
				i := 0
				for dec.More() {
					if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
						return err
					}
					i++
				}
				if i == 0 {
					out = append(out, field{path, "[]"})
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case nil:
			out = append(out, field{path, "null"})
		case string:
			out = append(out, field{path, t})
		default:
			out = append(out, field{path, fmt.Sprint(t)})
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, fmt.Errorf("read event JSON: %w", err)
	}
	return out, nil
}

// fieldValue finds a field by key (for tests and the clipboard).
func fieldValue(fs []field, key string) (string, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.Key, key) {
			return f.Value, true
		}
	}
	return "", false
}

// maxTextAddresses bounds the addresses anomalyText lists.
const maxTextAddresses = 10

// anomalyText writes an anomaly as plain text: what, when, why, its related anomalies and what
// its window held (the rules, related anomalies and addresses once they are read; total is 0
// until then).
func anomalyText(a finding.Anomaly, rules []app.RuleHits, near []finding.Anomaly, addrs []store.ViewAddress, total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Risk %d (%s) · %s · %s – %s UTC\n%s\n%s %s\n", a.Risk, finding.Severity(a.Risk), a.Direction,
		a.WindowStart.UTC().Format("2006-01-02 15:04"), a.WindowEnd.UTC().Format("15:04"), a.Title, a.EntityType, a.Entity)
	if a.Confidence != "" && a.Confidence != "full" {
		fmt.Fprintf(&b, "Confidence: %s\n", a.Confidence)
	}
	if a.Verdict != "" {
		fmt.Fprintf(&b, "Verdict: %s", a.Verdict)
		if a.Note != "" {
			fmt.Fprintf(&b, " · %s", a.Note)
		}
		b.WriteString("\n")
	}
	if len(a.Factors) > 0 {
		// The baseline last: it is free text, often long.
		fmt.Fprintf(&b, "\nWhy it stands out\n  %-40s %-10s %-30s %s\n", "Factor", "Label", "Observed", "Baseline")
		for _, f := range a.Factors {
			fmt.Fprintf(&b, "  %-40s %-10s %-30s %s\n", f.Name, f.Label, formatValue(f.Observed), formatValue(f.Baseline))
		}
	}
	if len(rules) > 0 {
		b.WriteString("\nRule matches in the window\n")
		for _, h := range rules {
			fmt.Fprintf(&b, "  %d %s · %s · %s\n", h.Rule.Severity, finding.Severity(h.Rule.Severity), h.Rule.Name, counted(h.Events, "event", "events"))
		}
	}
	if len(near) > 0 {
		b.WriteString("\nRelated anomalies, a day either side\n")
		for _, r := range near {
			fmt.Fprintf(&b, "  %d %s · %s · %s %s · %s", r.Risk, finding.Severity(r.Risk), r.WindowStart.UTC().Format("2006-01-02 15:04"),
				r.EntityType, r.Entity, r.Title)
			if r.Verdict != "" {
				fmt.Fprintf(&b, " · verdict: %s", r.Verdict)
			}
			b.WriteString("\n")
		}
	}
	if len(addrs) > 0 {
		busiest := ""
		if len(addrs) > maxTextAddresses {
			busiest = fmt.Sprintf(" (the busiest %d of %d)", maxTextAddresses, len(addrs))
		}
		fmt.Fprintf(&b, "\nAddresses in the window%s\n  %-40s %9s %8s\n", busiest, "Address", "calls", "failed")
		for _, ad := range addrs[:min(len(addrs), maxTextAddresses)] {
			fmt.Fprintf(&b, "  %-40s %9d %8d\n", ad.Address, ad.Events, ad.Failures)
		}
	}
	b.WriteString("\n")
	if total > 0 {
		fmt.Fprintf(&b, "Events in the window: %s; the anomaly's own: %s\n", count(int64(total)), count(int64(len(a.EventIDs))))
	}
	fmt.Fprintf(&b, "Search: %s\n", anomalyQuery(a))
	return b.String()
}
