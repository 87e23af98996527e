package ui

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

func testPalette() palette {
	return palette{Background: color.White, Foreground: color.Black, Grid: color.Gray{0x80},
		Line: color.NRGBA{0x29, 0x6f, 0xf6, 0xff}, Band: color.NRGBA{0x29, 0x6f, 0xf6, 0x48}, Expected: color.Gray{0x60}}
}

func daySeries(dir string, bins int) []finding.Point {
	var pts []finding.Point
	for b := 0; b < bins; b++ {
		pts = append(pts, finding.Point{Direction: dir, BinStart: day.Add(time.Duration(b) * 5 * time.Minute),
			Observed: float64(b % 11), Expected: 5, Lower: 2, Upper: 8})
	}
	return pts
}

func TestRenderChartMarkers(t *testing.T) {
	pts := daySeries("outbound", 288)
	img, ms, err := renderChart(chartSpec{Points: pts, Anomalies: []finding.Anomaly{anomOut}, From: day, To: day.Add(24 * time.Hour),
		Bin: 5 * time.Minute, W: 900, H: 220, Colors: testPalette()})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 220 {
		t.Errorf("image %v, want 900x220", b)
	}
	if len(ms) != 1 || ms[0].ID != "a-out" {
		t.Fatalf("markers = %+v, want one for a-out", ms)
	}
	// 20:27:30 of a 24-hour axis lies about 85% across the plot.
	if x := float64(ms[0].X) / 900; x < 0.75 || x > 0.92 {
		t.Errorf("marker at x=%d (%.2f of the width), want about 0.85", ms[0].X, x)
	}
	if c := colorAt(img, ms[0].X, ms[0].Y); c != severityColor(9) {
		t.Errorf("marker colour %v, want %v", c, severityColor(9))
	}
	if n := distinctColors(img, image.Rect(0, 0, 900, 220)); n < 20 {
		t.Errorf("chart has %d distinct colours; nothing drawn?", n)
	}
}

// TestMarkerOnLine: a marker sits on the observed line's point for its window, where the line's
// two segments meet, not half a bin away in mid-air (visible once an hour fills the chart).
func TestMarkerOnLine(t *testing.T) {
	var pts []finding.Point
	for b := range 12 {
		pts = append(pts, finding.Point{Direction: "outbound", BinStart: day.Add(time.Duration(b) * 5 * time.Minute),
			Observed: float64(10 * ((b + 1) % 2)), Expected: 0.5, Lower: 0, Upper: 1})
	}
	a := finding.Anomaly{ID: "peak", Risk: 9, Direction: "outbound", WindowStart: day.Add(30 * time.Minute), WindowEnd: day.Add(35 * time.Minute)}
	img, ms, err := renderChart(chartSpec{Points: pts, Anomalies: []finding.Anomaly{a}, From: day, To: day.Add(time.Hour),
		Bin: 5 * time.Minute, W: 900, H: 300, Colors: testPalette()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("markers = %+v", ms)
	}
	// The line leaves the peak on both sides: its colour shows in a ring just outside the dot.
	left, right := 0, 0
	for dy := -14; dy <= 14; dy++ {
		for dx := -14; dx <= 14; dx++ {
			if d := dx*dx + dy*dy; d < 9*9 || d > 14*14 {
				continue
			}
			if c := colorAt(img, ms[0].X+dx, ms[0].Y+dy); c.B > 200 && c.R < 140 && c.G < 180 {
				if dx < 0 {
					left++
				} else {
					right++
				}
			}
		}
	}
	if left == 0 || right == 0 {
		t.Errorf("no line around the marker at (%d, %d): %d pixels left, %d right", ms[0].X, ms[0].Y, left, right)
	}
}

// TestMarkerOnPeak: an anomaly whose window spans two bins is marked on the higher one, the
// spike it explains, exactly where a one-bin anomaly on that bin would be.
func TestMarkerOnPeak(t *testing.T) {
	pts := daySeries("outbound", 12) // observed 0, 1, 2, … : the later bin is the higher
	spec := chartSpec{Points: pts, From: day, To: day.Add(time.Hour), Bin: 5 * time.Minute, W: 900, H: 300, Colors: testPalette()}
	at := func(from, to time.Duration) marker {
		t.Helper()
		spec.Anomalies = []finding.Anomaly{{ID: "x", Risk: 9, Direction: "outbound", WindowStart: day.Add(from), WindowEnd: day.Add(to)}}
		_, ms, err := renderChart(spec)
		if err != nil || len(ms) != 1 {
			t.Fatalf("markers %+v, %v", ms, err)
		}
		return ms[0]
	}
	two, one := at(25*time.Minute, 35*time.Minute), at(30*time.Minute, 35*time.Minute)
	if two.X != one.X || two.Y != one.Y {
		t.Errorf("two-bin window marked at (%d, %d), want its peak bin's (%d, %d)", two.X, two.Y, one.X, one.Y)
	}
}

func colorAt(img image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

func distinctColors(img image.Image, r image.Rectangle) int {
	seen := map[color.NRGBA]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			seen[colorAt(img, x, y)] = true
		}
	}
	return len(seen)
}

func TestDownsample(t *testing.T) {
	pts := daySeries("inbound", 288)
	pts[100].Observed = 99 // a spike must survive
	tests := []struct {
		name string
		cols int
		want int
	}{
		{"fewer bins than columns", 500, 288},
		{"one bucket per 4 bins", 72, 72},
		{"a single column", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := downsample(pts, day, day.Add(24*time.Hour), tt.cols)
			if len(got) != tt.want {
				t.Fatalf("%d points, want %d", len(got), tt.want)
			}
			peak := 0.0
			for _, p := range got {
				peak = max(peak, p.Observed)
			}
			if peak != 99 {
				t.Errorf("peak %v, want the spike 99", peak)
			}
		})
	}
}

func TestNearestMarker(t *testing.T) {
	ms := []marker{{X: 100, Y: 50, ID: "a", Risk: 3}, {X: 300, Y: 50, ID: "b", Risk: 9}}
	tests := []struct {
		x, y float64
		id   string
		ok   bool
	}{
		{104, 60, "a", true},
		{290, 10, "b", true},
		{200, 50, "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v,%v", tt.x, tt.y), func(t *testing.T) {
			m, ok := nearestMarker(ms, tt.x, tt.y, 24)
			if ok != tt.ok || ok && m.ID != tt.id {
				t.Errorf("got %s %v, want %s %v", m.ID, ok, tt.id, tt.ok)
			}
		})
	}
}

func TestRangeFor(t *testing.T) {
	first, last := day, day.Add(3*24*time.Hour+23*time.Hour+52*time.Minute)
	end := day.Add(3*24*time.Hour + 23*time.Hour + 55*time.Minute)
	tests := []struct {
		choice, from, to string
		wantFrom         time.Time
		wantTo           time.Time
		err              bool
	}{
		{rangeDay, "", "", end.Add(-24 * time.Hour), end, false},
		{rangeWeek, "", "", day, end, false}, // four days of data: cut to them
		{rangeAll, "", "", day, end, false},
		{rangeCustom, "2024-05-09 20:00", "2024-05-10", day.Add(20 * time.Hour), day.Add(24 * time.Hour), false},
		{rangeCustom, "2024-05-10", "2024-05-09", time.Time{}, time.Time{}, true},
		{rangeCustom, "yesterday", "2024-05-09", time.Time{}, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.choice+tt.from, func(t *testing.T) {
			from, to, err := rangeFor(tt.choice, first, last, 5*time.Minute, tt.from, tt.to)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !from.Equal(tt.wantFrom) || !to.Equal(tt.wantTo) {
				t.Errorf("got %v – %v, want %v – %v", from, to, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

// TestRangeForShortData: the last day or week of a case holding less is cut to its data, and
// a few minutes of data get at least minRangeBins bins.
func TestRangeForShortData(t *testing.T) {
	bin := 5 * time.Minute
	for _, tt := range []struct {
		name        string
		first, last time.Time
		wantFrom    time.Time
		wantTo      time.Time
	}{
		{"an hour", day.Add(11*time.Hour + 47*time.Minute), day.Add(12*time.Hour + 41*time.Minute), day.Add(11*time.Hour + 45*time.Minute), day.Add(12*time.Hour + 45*time.Minute)},
		{"three minutes", day.Add(10 * time.Hour), day.Add(10*time.Hour + 3*time.Minute), day.Add(9*time.Hour + 5*time.Minute), day.Add(10*time.Hour + 5*time.Minute)},
		{"three days", day, day.Add(72 * time.Hour), day.Add(48*time.Hour + 5*time.Minute), day.Add(72*time.Hour + 5*time.Minute)},
	} {
		for _, choice := range []string{rangeDay, rangeWeek} {
			t.Run(tt.name+" "+choice, func(t *testing.T) {
				from, to, err := rangeFor(choice, tt.first, tt.last, bin, "", "")
				if err != nil {
					t.Fatal(err)
				}
				wantFrom := tt.wantFrom
				if tt.name == "three days" && choice == rangeWeek {
					wantFrom = day
				}
				if !from.Equal(wantFrom) || !to.Equal(tt.wantTo) {
					t.Errorf("got %v – %v, want %v – %v", from, to, wantFrom, tt.wantTo)
				}
			})
		}
	}
}

func TestFlatten(t *testing.T) {
	tests := []struct {
		in   string
		want []field
	}{
		{`{"a":1,"b":{"c":"x","d":[true,null]},"e":[],"f":{}}`,
			[]field{{"a", "1"}, {"b.c", "x"}, {"b.d[0]", "true"}, {"b.d[1]", "null"}, {"e", "[]"}, {"f", "{}"}}},
		{`{"resources":[{"ARN":"arn:aws:s3:::b"}]}`, []field{{"resources[0].ARN", "arn:aws:s3:::b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := flatten([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := flatten([]byte(`{"a":`)); err == nil {
		t.Error("broken JSON gave no error")
	}
}

// BenchmarkRenderChart draws a year of 5-minute bins (105,120 points) at 1200×300.
func BenchmarkRenderChart(b *testing.B) {
	pts := daySeries("inbound", 365*288)
	spec := chartSpec{Points: pts, From: day, To: day.Add(365 * 24 * time.Hour), Bin: 5 * time.Minute,
		W: 1200, H: 300, Colors: testPalette()}
	for b.Loop() {
		if _, _, err := renderChart(spec); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBarsCoverTheirBins: a pivot's timeline draws each busy bin as a bar over the bin and
// leaves the quiet bins between them empty, where a line would have joined them.
func TestBarsCoverTheirBins(t *testing.T) {
	// Busy at 01:00–01:05 and 03:00–03:05 of a four-hour axis, nothing in between.
	pts := []finding.Point{{BinStart: day.Add(time.Hour), Observed: 10}, {BinStart: day.Add(3 * time.Hour), Observed: 10}}
	img, _, err := renderChart(chartSpec{Points: pts, From: day, To: day.Add(4 * time.Hour), Bin: 5 * time.Minute,
		Bars: true, W: 960, H: 200, Colors: testPalette()})
	if err != nil {
		t.Fatal(err)
	}
	line := testPalette().Line.(color.NRGBA)
	// The plot spans most of the width; find the columns drawn in the line's colour at mid-height.
	var cols []int
	for x := 0; x < 960; x++ {
		if c := colorAt(img, x, 120); c.R == line.R && c.G == line.G && c.B == line.B {
			cols = append(cols, x)
		}
	}
	if len(cols) < 4 {
		t.Fatalf("no bars drawn at mid-height (%d columns)", len(cols))
	}
	// Two bars, each 5 minutes of a 240-minute axis wide: a few pixels each, far apart.
	gaps := 0
	for i := 1; i < len(cols); i++ {
		if cols[i]-cols[i-1] > 1 {
			gaps++
			if d := cols[i] - cols[i-1]; d < 300 {
				t.Errorf("bars %d px apart, want about half the plot (two hours of four)", d)
			}
		}
	}
	if gaps != 1 {
		t.Errorf("%d gaps between drawn columns %v, want two separate bars", gaps, cols)
	}
	if w := len(cols) / 2; w < 5 || w > 40 {
		t.Errorf("bars %d px wide, want a 5-minute bin of a 4-hour axis (about 18 px)", w)
	}
}

func TestBinWords(t *testing.T) {
	for sec, want := range map[int64]string{300: "5 min", 3600: "hour", 21600: "6 hours", 5400: "90 min", 45: "45s"} {
		if got := binWords(sec); got != want {
			t.Errorf("binWords(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestCountTicks(t *testing.T) {
	for _, c := range []struct {
		top    float64
		max    float64
		labels string
	}{
		{1.05, 2, "0 1 2"},
		{3.9, 4, "0 1 2 3 4"},
		{330.4, 400, "0 100 200 300 400"},
		{378.5, 400, "0 100 200 300 400"},
		{64.7, 80, "0 20 40 60 80"},
		{11.5, 15, "0 5 10 15"},
		{30800, 40000, "0 10k 20k 30k 40k"},
	} {
		top, ticks := countTicks(c.top)
		var labels []string
		for _, tk := range ticks {
			labels = append(labels, tk.Label)
		}
		if top != c.max || strings.Join(labels, " ") != c.labels {
			t.Errorf("countTicks(%v) = %v, %q; want %v, %q", c.top, top, labels, c.max, c.labels)
		}
	}
}

// TestRenderChartRuleMarks: a rule's mark stands on the time axis under the middle of its bin,
// in its severity's colour; one outside the range is not drawn.
func TestRenderChartRuleMarks(t *testing.T) {
	pts := daySeries("inbound", 288)
	at := day.Add(12 * time.Hour)
	marks := []app.RuleMark{
		{Direction: "inbound", From: at, To: at.Add(5 * time.Minute), Rule: store.Rule{Name: "Root user activity", Severity: 8}, Events: 3},
		{Direction: "inbound", From: day.Add(-time.Hour), To: day.Add(-55 * time.Minute), Rule: store.Rule{Name: "x", Severity: 9}},
	}
	img, ms, err := renderChart(chartSpec{Points: pts, RuleMarks: marks, From: day, To: day.Add(24 * time.Hour),
		Bin: 5 * time.Minute, W: 900, H: 220, Colors: testPalette()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Rule != "Root user activity" || ms[0].Risk != 8 || !ms[0].From.Equal(at) {
		t.Fatalf("markers = %+v, want the root rule's mark alone", ms)
	}
	if x := float64(ms[0].X) / 900; x < 0.45 || x > 0.55 {
		t.Errorf("mark at x=%d (%.2f of the width), want about the middle", ms[0].X, x)
	}
	if ms[0].Y < 220*3/4 {
		t.Errorf("mark at y=%d, want it on the time axis at the bottom", ms[0].Y)
	}
	if c := colorAt(img, ms[0].X, ms[0].Y); c != severityColor(8) {
		t.Errorf("mark colour %v, want %v", c, severityColor(8))
	}
}
