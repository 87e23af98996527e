package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// countFields are offered for counting by, most asked first; any other field may be typed.
var countFields = append(append([]string{}, query.GroupFields...), "userIdentity.type", "userIdentity.userName",
	"userIdentity.sessionContext.sessionIssuer.userName", "requestParameters.bucketName", "resources.ARN", "resources.type",
	"errorMessage", "eventType", "readOnly", "tlsDetails.clientProvidedHostHeader", "vpcEndpointId", query.DirectionField, query.RuleField)

// countTop is how many values the count lists.
const countTop = 200

// valueCounts is the investigator's stack count: the matches of the search on show counted by
// the values of one field, commonest first, each a click away from keeping only its events or
// leaving them out. It counts again when the search changes while it is on show.
type valueCounts struct {
	iv      *investigator
	field   *widget.SelectEntry
	status  *widget.Label
	stopBtn *widget.Button // stops the count under way; shown while one runs
	copyBtn *widget.Button // puts the count on the clipboard as text
	list    *widget.List
	content fyne.CanvasObject
	visible func() bool // whether the count is on show

	rows    []countRow
	counted string // the search and field of the rows ("" for none), so the same is not counted twice
	gen     int
	cancel  context.CancelFunc
}

// countRow is one value and its events; none marks the events without a value.
type countRow struct {
	store.Count
	share float64
	none  bool
}

func newValueCounts(iv *investigator, visible func() bool) *valueCounts {
	vc := &valueCounts{iv: iv, visible: visible}
	vc.field = widget.NewSelectEntry(countFields)
	vc.field.SetText("userIdentity.arn")
	vc.field.SetPlaceHolder("A field: userIdentity.arn, requestParameters.bucketName, …")
	vc.field.OnSubmitted = func(string) { vc.count() }
	// Choosing from the list counts at once; typing waits for Enter.
	vc.field.OnChanged = func(s string) {
		for _, f := range countFields {
			if s == f {
				vc.count()
			}
		}
	}
	vc.status = widget.NewLabel("")
	vc.status.Wrapping = fyne.TextWrapWord
	vc.stopBtn = widget.NewButtonWithIcon("Stop", theme.CancelIcon(), func() {
		vc.stop()
		vc.setRows(nil, "Count stopped.", widget.MediumImportance)
	})
	vc.stopBtn.Hide()
	vc.list = widget.NewList(func() int { return len(vc.rows) }, vc.newRow, vc.updateRow)
	vc.list.OnSelected = func(id widget.ListItemID) { vc.list.Unselect(id) }
	hint := widget.NewLabel("+ keeps only a value's events, − leaves them out; the magnifier pivots on an address, call, principal or key.")
	hint.TextStyle.Italic = true
	hint.Wrapping = fyne.TextWrapWord
	// For a ticket: the count as text, one value a line.
	vc.copyBtn = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		iv.v.s.app.Clipboard().SetContent(vc.text())
	})
	vc.copyBtn.Importance = widget.LowImportance
	vc.copyBtn.Disable()
	head := container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel("Count the matches by"), nil, vc.field),
		container.NewBorder(nil, nil, nil, container.NewHBox(vc.stopBtn, vc.copyBtn), vc.status), hint)
	vc.content = container.NewBorder(head, nil, nil, nil, vc.list)
	return vc
}

func (vc *valueCounts) newRow() fyne.CanvasObject {
	value := widget.NewLabel("")
	value.Truncation = fyne.TextTruncateEllipsis
	n := widget.NewLabel("")
	n.Alignment = fyne.TextAlignTrailing
	keep := widget.NewButtonWithIcon("", theme.ContentAddIcon(), nil)
	drop := widget.NewButtonWithIcon("", theme.ContentRemoveIcon(), nil)
	pivot := widget.NewButtonWithIcon("", theme.SearchIcon(), nil)
	keep.Importance, drop.Importance, pivot.Importance = widget.LowImportance, widget.LowImportance, widget.LowImportance
	return container.NewBorder(nil, nil, container.NewHBox(keep, drop), container.NewHBox(n, pivot), value)
}

// countPivots are the fields whose values have a pivot of their own: what else an address did,
// who else made a call, what else a principal or a key did.
var countPivots = map[string]string{
	"sourceIPAddress": app.PivotIP, "userIdentity.arn": app.PivotPrincipal,
	"eventName": app.PivotEvent, "userIdentity.accessKeyId": app.PivotKey,
}

func (vc *valueCounts) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(vc.rows) {
		return
	}
	r := vc.rows[id]
	c := o.(*fyne.Container)
	value := c.Objects[0].(*widget.Label)
	buttons := c.Objects[1].(*fyne.Container).Objects
	keep, drop := buttons[0].(*widget.Button), buttons[1].(*widget.Button)
	right := c.Objects[2].(*fyne.Container).Objects
	n, pivot := right[0].(*widget.Label), right[1].(*widget.Button)
	if kind := countPivots[query.CanonicalField(strings.TrimSpace(vc.field.Text))]; kind != "" && !r.none && pivotable(kind, r.Value) {
		pivot.Show()
		pivot.OnTapped = func() { openPivot(vc.iv.v, kind, r.Value, store.PivotOptions{Top: pivotTop}) }
	} else {
		pivot.Hide()
	}
	value.TextStyle.Italic = r.none
	if r.none {
		value.SetText("(no value)")
	} else {
		value.SetText(shortMiddle(countLabel(r.Value), 56))
	}
	n.SetText(fmt.Sprintf("%s · %s", count(r.Events), percent(r.share)))
	keep.OnTapped = func() { vc.narrow(r, false) }
	drop.OnTapped = func() { vc.narrow(r, true) }
}

// countLabel is a value as the list shows it: an ARN without its constant head, which would
// leave no room for the part that tells one from another (arn:aws:sts::111122223333:assumed-
// role/x/i-1 reads 111122223333:assumed-role/x/i-1).
func countLabel(v string) string {
	parts := strings.SplitN(v, ":", 6)
	switch {
	case len(parts) < 6 || parts[0] != "arn" || parts[5] == "":
		return v
	case parts[4] == "":
		return parts[5]
	}
	return parts[4] + ":" + parts[5]
}

// percent is a share as a person reads it: 0.3%, 12%, <0.1%.
func percent(share float64) string {
	switch p := share * 100; {
	case p > 0 && p < 0.1:
		return "<0.1%"
	case p >= 99.5 && p < 100: // not all, though it rounds to it
		return ">99%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	default:
		return fmt.Sprintf("%.0f%%", p)
	}
}

// narrow adds the value (or, with out, its absence) to the query and searches again.
func (vc *valueCounts) narrow(r countRow, out bool) {
	field := strings.TrimSpace(vc.field.Text)
	term := query.FieldValue(field, r.Value)
	if r.none {
		term, out = field+":*", !out // keeping the events without a value leaves out those with one
	}
	if out {
		term = "-" + term
	}
	q, err := andQuery(vc.iv.query.Text, term)
	if err != nil {
		vc.iv.setStatus("the query does not parse, so the value cannot be added: "+queryErrorText(err), widget.DangerImportance)
		return
	}
	vc.iv.setQuery(q)
}

// searched is called when a new search is on show: it is counted if the count is on show.
func (vc *valueCounts) searched() {
	if vc.visible() {
		vc.count()
	}
}

// shown is called when the count comes on show.
func (vc *valueCounts) shown() { vc.count() }

// count counts the search on show by the field chosen, in the background; a new count stops
// the one under way.
func (vc *valueCounts) count() {
	iv := vc.iv
	if !iv.searched {
		vc.setRows(nil, "Search first: the count is of the search's matches.", widget.MediumImportance)
		return
	}
	field := strings.TrimSpace(vc.field.Text)
	key := iv.onShowText + "\x00" + field
	if key == vc.counted {
		return
	}
	if vc.cancel != nil {
		vc.cancel()
	}
	vc.gen++
	gen := vc.gen
	if !query.IsField(field) && !strings.EqualFold(field, query.RuleField) {
		vc.counted = ""
		vc.stopBtn.Hide() // the count under way was stopped
		vc.setRows(nil, fmt.Sprintf("%q is no field: a field is a path such as userIdentity.arn or requestParameters.bucketName.", field), widget.DangerImportance)
		return
	}
	ctx, cancel := context.WithCancel(iv.v.ctx)
	vc.cancel = cancel
	vc.status.Importance = widget.MediumImportance
	vc.status.SetText(fmt.Sprintf("Counting the matches by %s…", field))
	vc.stopBtn.Show()
	f := iv.onShow
	th := newThrottle(iv.v.s.b, 150*time.Millisecond, func(read int64) {
		if gen == vc.gen {
			vc.status.SetText(fmt.Sprintf("Counting the matches by %s… %s read", field, counted(read, "event", "events")))
		}
	})
	do(iv.v, func(context.Context) (*store.FieldCounts, error) {
		return iv.v.c.CountValues(ctx, f, field, countTop, th.push)
	}, func(fc *store.FieldCounts, err error) {
		th.stop()
		if gen != vc.gen {
			return
		}
		cancel()
		vc.stopBtn.Hide()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				vc.setRows(nil, "The count failed: "+err.Error(), widget.DangerImportance)
			}
			return
		}
		vc.counted = key
		vc.show(field, fc)
	})
}

// show lists a count.
func (vc *valueCounts) show(field string, fc *store.FieldCounts) {
	total := float64(max(fc.Events, 1))
	rows := make([]countRow, 0, len(fc.Values)+1)
	for _, c := range fc.Values {
		rows = append(rows, countRow{Count: c, share: float64(c.Events) / total})
	}
	if fc.Without > 0 {
		rows = append(rows, countRow{Count: store.Count{Events: fc.Without}, share: float64(fc.Without) / total, none: true})
	}
	text := fmt.Sprintf("%s · %s of %s", counted(fc.Events, "event", "events"), counted(fc.Distinct, "value", "values"), field)
	if fc.Without > 0 {
		text += fmt.Sprintf(" · %s without one", count(fc.Without))
	}
	if int64(len(fc.Values)) < fc.Distinct {
		text += fmt.Sprintf(" · the %s commonest listed", count(int64(len(fc.Values))))
	}
	if fc.Partial {
		text += " · too many values to count every one: the counts are of those met first"
	}
	vc.setRows(rows, text, widget.MediumImportance)
}

func (vc *valueCounts) setRows(rows []countRow, status string, imp widget.Importance) {
	vc.rows = rows
	if len(rows) > 0 {
		vc.copyBtn.Enable()
	} else {
		vc.copyBtn.Disable()
	}
	vc.status.Importance = imp
	vc.status.SetText(status)
	vc.list.Refresh()
	vc.list.ScrollToTop()
}

// text is the count on show as text: the query and field, the totals, then a value a line
// with its events and share, whole (not shortened as the list shows them).
func (vc *valueCounts) text() string {
	var b strings.Builder
	q := vc.iv.onShowText
	if q == "" {
		q = "(every event)"
	}
	fmt.Fprintf(&b, "%s\ncounted by %s: %s\n\n", q, strings.TrimSpace(vc.field.Text), vc.status.Text)
	for _, r := range vc.rows {
		v := r.Value
		if r.none {
			v = "(no value)"
		}
		fmt.Fprintf(&b, "%10d  %6s  %s\n", r.Events, percent(r.share), v)
	}
	return b.String()
}

// stop stops the count under way, as a new search does; its rows are of the old search.
func (vc *valueCounts) stop() {
	if vc.cancel != nil {
		vc.cancel()
		vc.cancel = nil
	}
	vc.gen++
	vc.counted = ""
	vc.stopBtn.Hide()
}
