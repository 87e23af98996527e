package ui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
)

// palette holds the theme colours a chart is drawn with, read on the UI goroutine so that the
// rendering goroutine never touches the theme.
type palette struct {
	Background, Foreground, Grid, Line, Band, Expected color.Color
	Dark                                               bool
}

// chartSpec is everything needed to draw one direction's chart.
type chartSpec struct {
	Points    []finding.Point   // the direction's series in time order
	Anomalies []finding.Anomaly // the direction's anomalies to mark
	RuleMarks []app.RuleMark    // where rules matched, marked on the time axis
	From, To  time.Time         // the x range
	Bin       time.Duration     // width of one bin
	W, H      int               // size in pixels
	Bars      bool              // the observed counts as bars, without the expected band (a pivot's timeline)
	DPI       float64
	Colors    palette
}

// marker is an anomaly's marker as drawn, or a rule's mark (Rule set), in image pixels, so that
// a click can find it.
type marker struct {
	X, Y     int
	ID       string
	Risk     int // the anomaly's risk, or the rule's severity
	Rule     string
	From, To time.Time // a rule mark's bin
}

// severityColor is the colour of a risk level, the same in both themes (saturated enough for
// light and dark backgrounds).
func severityColor(risk int) color.NRGBA {
	switch finding.Severity(risk) {
	case "critical":
		return color.NRGBA{0xd3, 0x2f, 0x2f, 0xff}
	case "high":
		return color.NRGBA{0xef, 0x6c, 0x00, 0xff}
	case "medium":
		return color.NRGBA{0xf9, 0xa8, 0x25, 0xff}
	}
	return color.NRGBA{0x42, 0x8b, 0xca, 0xff}
}

func drawColor(c color.Color) drawing.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return drawing.Color{R: n.R, G: n.G, B: n.B, A: n.A}
}

func withAlpha(c color.Color, a uint8) drawing.Color {
	d := drawColor(c)
	d.A = a
	return d
}

// downsample merges the points into at most cols buckets of equal time width, so that a year of
// 5-minute bins draws as fast as a day. Within a bucket it keeps the highest observed count (a
// spike must stay visible), the mean expectation, the lowest lower and the highest upper bound.
func downsample(pts []finding.Point, from, to time.Time, cols int) []finding.Point {
	if cols < 1 || len(pts) <= cols || !to.After(from) {
		return pts
	}
	span := to.Sub(from)
	out := make([]finding.Point, 0, cols)
	var cur finding.Point
	bucket, n := -1, 0
	flush := func() {
		if n > 0 {
			cur.Expected /= float64(n)
			out = append(out, cur)
		}
	}
	for _, p := range pts {
		b := int(float64(p.BinStart.Sub(from)) / float64(span) * float64(cols))
		b = max(0, min(cols-1, b))
		if b != bucket {
			flush()
			bucket, n = b, 0
			cur = finding.Point{Direction: p.Direction, BinStart: p.BinStart, Lower: math.Inf(1), Upper: math.Inf(-1)}
		}
		n++
		cur.Observed = max(cur.Observed, p.Observed)
		cur.Expected += p.Expected
		cur.Lower = min(cur.Lower, p.Lower)
		cur.Upper = max(cur.Upper, p.Upper)
	}
	flush()
	return out
}

func tx(t time.Time) float64 { return float64(t.UnixNano()) }

// timeTicks picks tick marks at a round interval so that labels are at least minGap pixels
// apart, with labels that say the date when the range spans days.
func timeTicks(from, to time.Time, width, minGap int) []chart.Tick {
	steps := []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
		3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
		14 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour}
	span := to.Sub(from)
	if span <= 0 || width <= 0 {
		return nil
	}
	maxTicks := max(2, width/minGap)
	step := steps[len(steps)-1]
	for _, s := range steps {
		if int(span/s) <= maxTicks {
			step = s
			break
		}
	}
	layout := "15:04"
	switch {
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case span > 24*time.Hour:
		layout = "Jan 2 15:04"
	}
	var ticks []chart.Tick
	for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		ticks = append(ticks, chart.Tick{Value: tx(t), Label: t.UTC().Format(layout)})
	}
	return ticks
}

// countTicks rounds the top of a count axis up to a round number and marks it in round steps
// (1, 2 or 5 times a power of ten), so that the labels read 0, 100, 200, 300 rather than 360.5.
func countTicks(top float64) (float64, []chart.Tick) {
	step := math.Inf(1)
	for p := 1.0; p < 1e15; p *= 10 {
		for _, base := range []float64{1, 2, 5} {
			if s := base * p; top/s <= 4 && s < step {
				step = s // the finest round step that needs at most four of them
			}
		}
	}
	top = math.Max(step, math.Ceil(top/step)*step)
	var ticks []chart.Tick
	for v := 0.0; v <= top+step/2; v += step {
		ticks = append(ticks, chart.Tick{Value: v, Label: compact(v)})
	}
	return top, ticks
}

// compact formats a count for an axis: 950, 1.2k, 3.4M.
func compact(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// chartFont is go-chart's default font, parsed once. go-chart parses it on first use behind an
// unsynchronised check, which the race detector caught when the dashboard's three charts were
// first drawn at once; a chart given its font never makes that check.
var chartFont = sync.OnceValues(chart.GetDefaultFont)

// renderChart draws one direction's chart: the expected band shaded, the expected value dashed,
// the observed count per bin as a line, and the anomalies as dots coloured by risk. It returns
// the image and where each marker landed.
func renderChart(s chartSpec) (image.Image, []marker, error) {
	img, markers, _, err := draw(s)
	return img, markers, err
}

// plotSpan is where a chart's x axis runs, in image pixels: From at Left, To at Right.
type plotSpan struct{ Left, Right int }

// at is the time at pixel x of the chart that runs from `from` to `to`, and false outside it.
func (p plotSpan) at(x int, from, to time.Time) (time.Time, bool) {
	if p.Right <= p.Left || x < p.Left || x > p.Right {
		return time.Time{}, false
	}
	return from.Add(time.Duration(float64(to.Sub(from)) * float64(x-p.Left) / float64(p.Right-p.Left))), true
}

// renderBars draws s as bars and says where its x axis runs, so that a click can find its bin.
func renderBars(s chartSpec) (image.Image, plotSpan, error) {
	s.Bars = true
	img, _, span, err := draw(s)
	return img, span, err
}

func draw(s chartSpec) (image.Image, []marker, plotSpan, error) {
	if s.W < 50 || s.H < 40 {
		return nil, nil, plotSpan{}, fmt.Errorf("chart %dx%d: too small", s.W, s.H)
	}
	font, err := chartFont()
	if err != nil {
		return nil, nil, plotSpan{}, fmt.Errorf("chart font: %w", err)
	}
	if s.DPI <= 0 {
		s.DPI = 96
	}
	cols := s.W / 2 // buckets of two pixels each at most
	pts := downsample(s.Points, s.From, s.To, cols)
	ymax := 1.0
	for _, p := range pts {
		ymax = max(ymax, p.Observed, p.Upper)
	}
	ymax, yticks := countTicks(ymax * 1.05)
	fg, grid := drawColor(s.Colors.Foreground), withAlpha(s.Colors.Grid, 0xff)
	axisStyle := chart.Style{StrokeColor: grid, StrokeWidth: 1, FontColor: fg, FontSize: 9}
	// go-chart takes the x range from the ticks when there are any: unlabelled ticks at both
	// ends keep it at exactly [From, To].
	ticks := append([]chart.Tick{{Value: tx(s.From)}}, timeTicks(s.From, s.To, s.W-80, 110)...)
	ticks = append(ticks, chart.Tick{Value: tx(s.To)})
	markers := &markerSeries{rules: s.RuleMarks}
	bySeverity := append([]finding.Anomaly(nil), s.Anomalies...)
	// The highest risk is drawn last, on top.
	sort.SliceStable(bySeverity, func(i, j int) bool { return bySeverity[i].Risk < bySeverity[j].Risk })
	for _, a := range bySeverity {
		at, v := peakIn(s.Points, a.WindowStart, a.WindowEnd)
		markers.items = append(markers.items, markerItem{x: tx(at), y: v, a: a})
	}
	c := chart.Chart{
		Width: s.W, Height: s.H, DPI: s.DPI, Font: font,
		Background: chart.Style{FillColor: drawColor(s.Colors.Background), Padding: chart.Box{Top: 8, Left: 8, Right: 8, Bottom: 4}},
		Canvas:     chart.Style{FillColor: drawColor(s.Colors.Background)},
		XAxis: chart.XAxis{
			Style: axisStyle, Ticks: ticks, Range: &chart.ContinuousRange{Min: tx(s.From), Max: tx(s.To)},
			GridMajorStyle: chart.Style{StrokeColor: withAlpha(s.Colors.Grid, 0x80), StrokeWidth: 1},
		},
		YAxis: chart.YAxis{
			Style: axisStyle, Range: &chart.ContinuousRange{Min: 0, Max: ymax}, Ticks: yticks,
			GridMajorStyle: chart.Style{StrokeColor: withAlpha(s.Colors.Grid, 0x50), StrokeWidth: 1},
		},
	}
	var bars *barSeries
	if s.Bars {
		// Each bar covers its bin, or the bucket that downsampling merged it into.
		w := s.Bin
		if len(pts) < len(s.Points) {
			w = s.To.Sub(s.From) / time.Duration(cols)
		}
		bars = &barSeries{pts: pts, width: w, color: drawColor(s.Colors.Line)}
		c.Series = []chart.Series{bars}
	} else {
		c.Series = []chart.Series{
			&bandSeries{pts: pts, color: drawColor(s.Colors.Band)},
			&lineSeries{pts: pts, value: func(p finding.Point) float64 { return p.Expected },
				style: chart.Style{StrokeColor: drawColor(s.Colors.Expected), StrokeWidth: 1, StrokeDashArray: []float64{4, 3}}},
			&lineSeries{pts: pts, value: func(p finding.Point) float64 { return p.Observed },
				style: chart.Style{StrokeColor: drawColor(s.Colors.Line), StrokeWidth: 1.6}},
			markers,
		}
	}
	var w chart.ImageWriter
	if err := c.Render(chart.PNG, &w); err != nil {
		return nil, nil, plotSpan{}, fmt.Errorf("draw chart: %w", err)
	}
	img, err := w.Image()
	if err != nil {
		return nil, nil, plotSpan{}, fmt.Errorf("draw chart: %w", err)
	}
	span := markers.span
	if bars != nil {
		span = bars.span
	}
	return img, markers.drawn, span, nil
}

// peakIn places an anomaly's marker on the observed line's point (points sit at bin starts):
// the highest in its window [from, to), which may span several bins, so that the marker is on
// the spike it explains; the window's first bin when the series has no point inside it.
func peakIn(pts []finding.Point, from, to time.Time) (time.Time, float64) {
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].BinStart.Before(from) })
	if i == len(pts) || !pts[i].BinStart.Before(to) {
		return from, observedAt(pts, from)
	}
	at, v := pts[i].BinStart, pts[i].Observed
	for i++; i < len(pts) && pts[i].BinStart.Before(to); i++ {
		if pts[i].Observed > v {
			at, v = pts[i].BinStart, pts[i].Observed
		}
	}
	return at, v
}

// observedAt is the observed count of the bin starting at t (or the latest bin before it).
func observedAt(pts []finding.Point, t time.Time) float64 {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].BinStart.After(t) })
	if i == 0 {
		return 0
	}
	return pts[i-1].Observed
}

// nearestMarker finds the marker closest to (x, y) within maxDist pixels.
func nearestMarker(ms []marker, x, y, maxDist float64) (marker, bool) {
	best, bestD := marker{}, math.Inf(1)
	for _, m := range ms {
		dx, dy := float64(m.X)-x, float64(m.Y)-y
		// Horizontal distance counts more: a marker is found by its time.
		d := math.Hypot(dx, dy/3)
		if d < bestD || d == bestD && m.Risk > best.Risk {
			best, bestD = m, d
		}
	}
	return best, bestD <= maxDist
}

// barSeries draws each point's observed count as a bar over [BinStart, BinStart+width): a
// pivot's activity comes and goes, and a line between two busy bins would draw calls where there
// were none.
type barSeries struct {
	pts   []finding.Point
	width time.Duration
	color drawing.Color
	span  plotSpan // where the x axis ran, once drawn
}

func (b *barSeries) GetName() string           { return "" }
func (b *barSeries) GetYAxis() chart.YAxisType { return chart.YAxisPrimary }
func (b *barSeries) GetStyle() chart.Style     { return chart.Style{FillColor: b.color} }
func (b *barSeries) Validate() error           { return nil }
func (b *barSeries) Render(r chart.Renderer, box chart.Box, xr, yr chart.Range, _ chart.Style) {
	b.span = plotSpan{box.Left + xr.Translate(xr.GetMin()), box.Left + xr.Translate(xr.GetMax())}
	r.SetFillColor(b.color)
	r.SetStrokeWidth(0)
	for _, p := range b.pts {
		if p.Observed <= 0 {
			continue
		}
		x0 := box.Left + xr.Translate(tx(p.BinStart))
		x1 := max(box.Left+xr.Translate(tx(p.BinStart.Add(b.width))), x0+1)
		y := box.Bottom - yr.Translate(p.Observed)
		r.MoveTo(x0, box.Bottom)
		r.LineTo(x0, y)
		r.LineTo(x1, y)
		r.LineTo(x1, box.Bottom)
		r.Close()
		r.Fill()
	}
}

// lineSeries draws one value of the points as a polyline.
type lineSeries struct {
	pts   []finding.Point
	value func(finding.Point) float64
	style chart.Style
}

func (l *lineSeries) GetName() string           { return "" }
func (l *lineSeries) GetYAxis() chart.YAxisType { return chart.YAxisPrimary }
func (l *lineSeries) GetStyle() chart.Style     { return l.style }
func (l *lineSeries) Validate() error           { return nil }
func (l *lineSeries) Render(r chart.Renderer, box chart.Box, xr, yr chart.Range, _ chart.Style) {
	if len(l.pts) == 0 {
		return
	}
	r.SetStrokeColor(l.style.StrokeColor)
	r.SetStrokeWidth(l.style.StrokeWidth)
	r.SetStrokeDashArray(l.style.StrokeDashArray)
	for i, p := range l.pts {
		x := box.Left + xr.Translate(tx(p.BinStart))
		y := box.Bottom - yr.Translate(l.value(p))
		if i == 0 {
			r.MoveTo(x, y)
		} else {
			r.LineTo(x, y)
		}
	}
	r.Stroke()
	r.SetStrokeDashArray(nil)
}

// bandSeries shades the area between the lower and upper bound.
type bandSeries struct {
	pts   []finding.Point
	color drawing.Color
}

func (b *bandSeries) GetName() string           { return "" }
func (b *bandSeries) GetYAxis() chart.YAxisType { return chart.YAxisPrimary }
func (b *bandSeries) GetStyle() chart.Style     { return chart.Style{FillColor: b.color} }
func (b *bandSeries) Validate() error           { return nil }
func (b *bandSeries) Render(r chart.Renderer, box chart.Box, xr, yr chart.Range, _ chart.Style) {
	if len(b.pts) < 2 {
		return
	}
	r.SetFillColor(b.color)
	r.SetStrokeColor(drawing.ColorTransparent)
	for i, p := range b.pts {
		x, y := box.Left+xr.Translate(tx(p.BinStart)), box.Bottom-yr.Translate(p.Upper)
		if i == 0 {
			r.MoveTo(x, y)
		} else {
			r.LineTo(x, y)
		}
	}
	for i := len(b.pts) - 1; i >= 0; i-- {
		p := b.pts[i]
		r.LineTo(box.Left+xr.Translate(tx(p.BinStart)), box.Bottom-yr.Translate(max(0, p.Lower)))
	}
	r.Close()
	r.Fill()
}

type markerItem struct {
	x, y float64
	a    finding.Anomaly
}

// markerSeries draws anomaly dots, and rules' marks on the time axis, and records where they
// landed and where the time axis runs.
type markerSeries struct {
	items []markerItem
	rules []app.RuleMark
	drawn []marker
	span  plotSpan
}

func (m *markerSeries) GetName() string           { return "" }
func (m *markerSeries) GetYAxis() chart.YAxisType { return chart.YAxisPrimary }
func (m *markerSeries) GetStyle() chart.Style     { return chart.Style{} }
func (m *markerSeries) Validate() error           { return nil }
func (m *markerSeries) Render(r chart.Renderer, box chart.Box, xr, yr chart.Range, _ chart.Style) {
	m.drawn = m.drawn[:0]
	m.span = plotSpan{box.Left + xr.Translate(xr.GetMin()), box.Left + xr.Translate(xr.GetMax())}
	// A rule's mark is a triangle standing on the time axis under its bin, below the anomaly
	// dots, which are drawn over it: rules say that something happened then, not how much.
	for _, rm := range m.rules {
		x := box.Left + xr.Translate(tx(rm.From.Add(rm.To.Sub(rm.From)/2)))
		if x < box.Left || x > box.Right {
			continue
		}
		const h = 12
		y := box.Bottom
		c := severityColor(rm.Rule.Severity)
		r.SetFillColor(drawing.Color{R: c.R, G: c.G, B: c.B, A: 0xff})
		r.SetStrokeColor(drawing.ColorWhite)
		r.SetStrokeWidth(1)
		r.MoveTo(x-h/2, y)
		r.LineTo(x, y-h)
		r.LineTo(x+h/2, y)
		r.Close()
		r.FillStroke()
		m.drawn = append(m.drawn, marker{X: x, Y: y - h/2, Risk: rm.Rule.Severity, Rule: rm.Rule.Name, From: rm.From, To: rm.To})
	}
	for _, it := range m.items {
		x := box.Left + xr.Translate(it.x)
		y := box.Bottom - yr.Translate(it.y)
		if x < box.Left || x > box.Right {
			continue
		}
		radius := 3.0 + float64(it.a.Risk)/2.5
		c := severityColor(it.a.Risk)
		r.SetFillColor(drawing.Color{R: c.R, G: c.G, B: c.B, A: 0xff})
		r.SetStrokeColor(drawing.ColorWhite)
		r.SetStrokeWidth(1)
		r.Circle(radius, x, y)
		r.FillStroke()
		m.drawn = append(m.drawn, marker{X: x, Y: y, ID: it.a.ID, Risk: it.a.Risk})
	}
}
