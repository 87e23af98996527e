package ui

import (
	"context"
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
)

// chartView shows one direction's chart as an image drawn by go-chart at the widget's pixel
// size, redrawn in the background when the size, data or theme change. Tapping near a marker
// opens that anomaly; tapping elsewhere on the plot searches that bin of this lane.
type chartView struct {
	widget.BaseWidget
	o   *overview
	dir string

	img  *canvas.Image
	note *widget.Label

	points    []finding.Point
	anomalies []finding.Anomaly
	ruleMarks []app.RuleMark
	from, to  time.Time
	bin       time.Duration
	hasData   bool

	seq      int      // render generation
	drawnSeq int      // generation of the image on show
	markers  []marker // of the image on show, in its pixels
	span     plotSpan // where the time axis of the image on show runs
	imgW     int
	drawn    fyne.Size // widget size the image on show was drawn for
	notify   bool      // tell the overview when the current data is drawn
}

func newChartView(o *overview, dir string) *chartView {
	c := &chartView{o: o, dir: dir}
	c.img = canvas.NewImageFromImage(nil)
	c.img.FillMode = canvas.ImageFillStretch
	c.img.ScaleMode = canvas.ImageScaleSmooth
	c.note = widget.NewLabel("")
	c.note.Alignment = fyne.TextAlignCenter
	c.note.Hide()
	c.ExtendBaseWidget(c)
	return c
}

// CreateRenderer stacks the note (for an empty chart) over the image.
func (c *chartView) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(c.img, container.NewCenter(c.note)))
}

// MinSize keeps a chart readable.
func (c *chartView) MinSize() fyne.Size { return fyne.NewSize(320, 110) }

// Resize redraws the chart for its new size, once the size has settled.
func (c *chartView) Resize(s fyne.Size) {
	old := c.Size()
	c.BaseWidget.Resize(s)
	if s != old && c.hasData {
		c.seq++
		seq := c.seq
		c.o.v.s.b.later(120*time.Millisecond, func() {
			if seq == c.seq {
				c.render()
			}
		})
	}
}

// setData gives the chart new data and draws it.
func (c *chartView) setData(pts []finding.Point, anoms []finding.Anomaly, rules []app.RuleMark, from, to time.Time, bin time.Duration) {
	c.points, c.anomalies, c.ruleMarks, c.from, c.to, c.bin, c.hasData = pts, anoms, rules, from, to, bin, true
	c.notify = true
	c.render()
}

// render draws the chart off the UI goroutine at the widget's size in device pixels.
func (c *chartView) render() {
	if !c.hasData {
		return
	}
	c.seq++
	seq := c.seq
	size := c.Size()
	scale := float32(1)
	if cnv := fyne.CurrentApp().Driver().CanvasForObject(c); cnv != nil {
		scale = cnv.Scale()
	}
	if len(c.points) == 0 {
		c.img.Image = nil
		c.img.Refresh()
		if c.from.IsZero() {
			c.note.SetText("No events yet")
		} else {
			c.note.SetText("No analysis results in this range")
		}
		c.note.Show()
		c.markers = nil
		c.finished()
		return
	}
	c.note.Hide()
	if size.Width < 50 || size.Height < 40 {
		return // not laid out yet; Resize draws it
	}
	spec := chartSpec{Points: c.points, Anomalies: c.anomalies, RuleMarks: c.ruleMarks, From: c.from, To: c.to, Bin: c.bin,
		W: int(size.Width * scale), H: int(size.Height * scale), DPI: 96 * float64(scale), Colors: currentPalette()}
	type drawing struct {
		img     image.Image
		markers []marker
		span    plotSpan
	}
	do(c.o.v, func(context.Context) (drawing, error) {
		img, ms, span, err := draw(spec)
		return drawing{img, ms, span}, err
	}, func(d drawing, err error) {
		if seq != c.seq {
			return
		}
		if err != nil {
			c.note.SetText("Chart: " + err.Error())
			c.note.Show()
			return
		}
		c.img.Image = d.img
		c.img.Refresh()
		c.markers, c.span, c.imgW, c.drawn, c.drawnSeq = d.markers, d.span, spec.W, size, seq
		c.finished()
	})
}

func (c *chartView) finished() {
	if c.notify {
		c.notify = false
		c.o.chartDrawn()
	}
}

// markerAt maps a position in the widget to the nearest marker drawn there.
func (c *chartView) markerAt(pos fyne.Position) (marker, bool) {
	if c.imgW == 0 || c.drawn.Width == 0 || c.drawn.Height == 0 {
		return marker{}, false
	}
	k := float64(c.imgW) / float64(c.drawn.Width)
	return nearestMarker(c.markers, float64(pos.X)*k, float64(pos.Y)*k, 24*k)
}

// Tapped opens the anomaly whose marker is nearest the tap, or searches what the rule whose mark
// it is matched in its bin; away from the markers, it searches the events of the bin under the
// tap in this lane, so that a spike without an anomaly is one click from its events too.
func (c *chartView) Tapped(ev *fyne.PointEvent) {
	m, ok := c.markerAt(ev.Position)
	switch {
	case !ok:
		if from, to, ok := c.binAt(ev.Position); ok {
			c.o.v.investigate(windowQuery(from, to) + " " + query.FieldValue(query.DirectionField, c.dir))
		}
	case m.Rule != "":
		q, err := andQuery(windowQuery(m.From, m.To), query.FieldValue(query.RuleField, m.Rule))
		if err != nil {
			c.o.v.s.showError("rule "+m.Rule, err)
			return
		}
		c.o.v.investigate(q)
	default:
		c.o.openByID(m.ID)
	}
}

// binAt is the analysis bin a tap at pos means: of the bins within a few pixels of it, the one
// with the most events, since a bin is a pixel or two wide and a tap aims at a spike; the bin
// under the tap when none of them has a point.
func (c *chartView) binAt(pos fyne.Position) (from, to time.Time, ok bool) {
	if c.imgW == 0 || c.drawn.Width == 0 || c.bin <= 0 || len(c.points) == 0 {
		return time.Time{}, time.Time{}, false
	}
	k := float64(c.imgW) / float64(c.drawn.Width)
	x := int(float64(pos.X) * k)
	t, ok := c.span.at(x, c.from, c.to)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	reach := int(6 * k)
	lo, _ := c.span.at(max(x-reach, c.span.Left), c.from, c.to)
	hi, _ := c.span.at(min(x+reach, c.span.Right), c.from, c.to)
	tapped := t.Truncate(c.bin) // bins are aligned on the Unix epoch, as the case counts them
	from = tapped
	best := -1.0
	for _, p := range c.points { // points sit at bin starts
		if p.BinStart.Add(c.bin).Before(lo) || p.BinStart.After(hi) {
			continue
		}
		if p.Observed > best || p.Observed == best && p.BinStart.Equal(tapped) { // the tapped bin wins a tie
			best, from = p.Observed, p.BinStart
		}
	}
	return from, from.Add(c.bin), true
}

// Cursor is a cross hair: the chart is for pointing at markers and bins.
func (c *chartView) Cursor() desktop.Cursor { return desktop.CrosshairCursor }

// markerPosition is where marker m sits in widget coordinates (for tests and tooltips).
func (c *chartView) markerPosition(m marker) fyne.Position {
	k := float32(c.drawn.Width) / float32(c.imgW)
	return fyne.NewPos(float32(m.X)*k, float32(m.Y)*k)
}
