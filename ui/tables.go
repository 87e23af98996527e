package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// newHeaderTable is a table of one-line text cells under a row of column titles; cell fills the
// label of one cell.
func newHeaderTable(titles []string, widths []float32, rows func() int, cell func(id widget.TableCellID, l *widget.Label)) *keyTable {
	t := newKeyTable(
		func() (int, int) { return rows(), len(titles) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) { cell(id, o.(*widget.Label)) })
	t.ShowHeaderRow = true
	t.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	t.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText(titles[id.Col])
		}
	}
	for i, w := range widths {
		t.SetColumnWidth(i, w)
	}
	return t
}

// column is one column of a table of rows of type T: its title, width and text.
type column[T any] struct {
	title string
	width float32
	cell  func(T) string
}

// newColumnTable lists rows of type T, which get fetches ("…" while a row is not at hand); imp,
// when given, says how the text of a cell stands out.
func newColumnTable[T any](cols []column[T], rows func() int, get func(row int) (T, bool),
	imp ...func(col int, row T) widget.Importance) *keyTable {
	titles, widths := make([]string, len(cols)), make([]float32, len(cols))
	for i, c := range cols {
		titles[i], widths[i] = c.title, c.width
	}
	return newHeaderTable(titles, widths, rows, func(id widget.TableCellID, l *widget.Label) {
		l.Importance = widget.MediumImportance
		if r, ok := get(id.Row); ok {
			if len(imp) > 0 {
				l.Importance = imp[0](id.Col, r)
			}
			l.SetText(cols[id.Col].cell(r))
		} else {
			l.SetText("…")
		}
	})
}

// maxKeyChars is about what the fields table's first column shows of a path in bold.
const maxKeyChars = 34

// shortKey shortens a long field path in its middle, where its segments matter least:
// userIdentity.sessionContext.sessionIssuer.principalId reads userIdentity.….sessionIssuer.principalId.
func shortKey(k string, max int) string {
	segs := strings.Split(k, ".")
	if len(k) <= max || len(segs) < 3 {
		return k
	}
	tail := segs[len(segs)-1]
	for i := len(segs) - 2; i > 0 && len(segs[0])+3+len(segs[i])+1+len(tail) <= max; i-- {
		tail = segs[i] + "." + tail
	}
	return segs[0] + ".…." + tail
}

// newFieldsTable lists an event's fields, path and value, from *fs.
func newFieldsTable(fs *[]field) *keyTable {
	t := newKeyTable(
		func() (int, int) { return len(*fs), 2 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			f := (*fs)[id.Row]
			l := o.(*widget.Label)
			if id.Col == 0 {
				l.SetText(shortKey(f.Key, maxKeyChars))
				l.TextStyle.Bold = true
			} else {
				l.SetText(f.Value)
				l.TextStyle.Bold = false
			}
		})
	t.SetColumnWidth(0, 280) // maxKeyChars in bold
	t.SetColumnWidth(1, 520)
	return t
}

// keyTable is a table that passes the window's own keys (Escape, F5) on to the window: a table
// keeps the keyboard focus once clicked, and a focused widget gets every key, so Escape did not
// leave a drilldown after a click on its events (seen under Xvfb).
type keyTable struct{ widget.Table }

func newKeyTable(length func() (int, int), create func() fyne.CanvasObject, update func(widget.TableCellID, fyne.CanvasObject)) *keyTable {
	t := &keyTable{}
	t.Length, t.CreateCell, t.UpdateCell = length, create, update
	t.ExtendBaseWidget(t)
	return t
}

func (t *keyTable) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape, fyne.KeyF5, fyne.KeyN, fyne.KeyP, fyne.KeyV: // the window's keys (N, P, V: triage)
		if c := fyne.CurrentApp().Driver().CanvasForObject(t); c != nil && c.OnTypedKey() != nil {
			c.OnTypedKey()(ev)
			return
		}
	}
	t.Table.TypedKey(ev)
}

// escEntry is an entry that hands Escape to esc (closing the dialog it is in): a focused widget
// gets every key, so the window's own Escape never sees it while the entry has the focus.
type escEntry struct {
	widget.Entry
	esc func()
}

func newEscEntry(multiLine bool, esc func()) *escEntry {
	e := &escEntry{esc: esc}
	e.MultiLine = multiLine
	if multiLine {
		e.Wrapping = fyne.TextWrapWord
	}
	e.ExtendBaseWidget(e)
	return e
}

func (e *escEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.esc != nil {
		e.esc()
		return
	}
	e.Entry.TypedKey(ev)
}
