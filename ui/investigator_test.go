package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// investigatorOn opens the investigator of the fixture case.
func investigatorOn(t *testing.T) (*shell, *investigator) {
	t.Helper()
	s, _ := openedCase(t)
	s.view.nav.Select(screenInvestigator)
	settle(t, s)
	return s, s.view.investigator
}

// search types q into the query bar and submits it as Enter does.
func search(t *testing.T, s *shell, iv *investigator, q string) {
	t.Helper()
	iv.query.SetText(q)
	iv.query.OnSubmitted(q)
	settle(t, s)
}

// fieldRow is the index of the shown event's field with this path.
func fieldRow(t *testing.T, iv *investigator, key string) int {
	t.Helper()
	i := slices.IndexFunc(iv.fields, func(f field) bool { return f.Key == key })
	if i < 0 {
		t.Fatalf("the event shown has no field %s", key)
	}
	return i
}

// TestInvestigatorSearches: the screen opens on the newest events; a query narrows them, newest
// first; a malformed query says where it went wrong and keeps the results on show.
func TestInvestigatorSearches(t *testing.T) {
	s, iv := investigatorOn(t)
	if len(iv.hits) != 53 || !strings.HasPrefix(iv.status.Text, "53 events match") {
		t.Fatalf("opened on %d events, status %q; want the case's 53", len(iv.hits), iv.status.Text)
	}
	search(t, s, iv, "getobject")
	if len(iv.hits) != 4 || !strings.HasPrefix(iv.status.Text, "4 events match") {
		t.Fatalf("a bare word found %d events, status %q; want the 4 GetObject calls", len(iv.hits), iv.status.Text)
	}
	for i := 1; i < len(iv.hits); i++ {
		if iv.hits[i].Time.After(iv.hits[i-1].Time) {
			t.Errorf("results are not newest first: %v before %v", iv.hits[i-1].Time, iv.hits[i].Time)
		}
	}
	search(t, s, iv, "errorCode:AccessDenied OR eventName:ListBuckets")
	if len(iv.hits) != 2 {
		t.Errorf("an OR of two fields found %d events, want 2", len(iv.hits))
	}
	search(t, s, iv, "eventName:(")
	if !strings.HasPrefix(iv.status.Text, "Query error at column 12: expected a value for eventName") || iv.status.Importance != widget.DangerImportance {
		t.Errorf("a malformed query shows %q (importance %v); want its position, as an error", iv.status.Text, iv.status.Importance)
	}
	if len(iv.hits) != 2 {
		t.Errorf("a malformed query cleared the results on show: %d left", len(iv.hits))
	}
}

// TestInvestigatorFollowsRuleRuns: after a rules run, the events on show name the rules that
// now match them, without searching again.
func TestInvestigatorFollowsRuleRuns(t *testing.T) {
	s, iv := investigatorOn(t)
	search(t, s, iv, "eventName:GetObject")
	if len(iv.hits) != 4 {
		t.Fatalf("%d GetObject calls, want 4", len(iv.hits))
	}
	v := s.view
	if _, err := v.c.SaveRule(v.ctx, store.Rule{Name: "Object reads", Query: "eventName:GetObject", Severity: 5, Every: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	v.runRules(false)
	settle(t, s)
	for _, h := range iv.hits {
		if h.Rule != "Object reads" {
			t.Errorf("%s names rule %q after the run, want Object reads", h.EventID, h.Rule)
		}
	}
}

// TestInvestigatorFieldNarrows: choosing a field of the event shown adds field:value to the
// query, arrays looked into, and searches again; the event stays shown.
func TestInvestigatorFieldNarrows(t *testing.T) {
	s, iv := investigatorOn(t)
	// The burst's failed GetObject.
	iv.results.Select(widget.TableCellID{Row: slices.IndexFunc(iv.hits, func(h store.Hit) bool { return h.EventID == "evt-00104" }), Col: 1})
	settle(t, s)
	if got, _ := fieldValue(iv.fields, "errorCode"); got != "AccessDenied" {
		t.Fatalf("the burst's last event shows errorCode %q, want AccessDenied", got)
	}
	if iv.pivotAddr.Disabled() || iv.copyJSON.Disabled() {
		t.Error("the event's pivots and copy stay disabled once it is shown")
	}
	iv.fieldsTable.Select(widget.TableCellID{Row: fieldRow(t, iv, "sourceIPAddress"), Col: 1})
	settle(t, s)
	if iv.query.Text != "sourceIPAddress:203.0.113.7" || len(iv.hits) != 5 {
		t.Fatalf("after choosing the address: query %q, %d events; want sourceIPAddress:203.0.113.7 and the 5 of the burst", iv.query.Text, len(iv.hits))
	}
	iv.fieldsTable.Select(widget.TableCellID{Row: fieldRow(t, iv, "resources[0].ARN"), Col: 0})
	settle(t, s)
	want := query.Format(query.MustParse(`sourceIPAddress:203.0.113.7 AND resources.ARN:"arn:aws:s3:::prod-data"`))
	if iv.query.Text != want || len(iv.hits) != 5 {
		t.Errorf("after choosing an array's field: query %q, %d events; want %q and 5", iv.query.Text, len(iv.hits), want)
	}
	if iv.sel < 0 || iv.hits[iv.sel].EventID != "evt-00104" {
		t.Errorf("the event shown was lost when the query changed (sel %d)", iv.sel)
	}
	test.Tap(iv.copyJSON)
	if got := s.app.Clipboard().Content(); !strings.Contains(got, `"eventID": "evt-00104"`) {
		t.Errorf("Copy JSON put %q on the clipboard", got)
	}
}

// setPageHits makes the investigator's pages n events long for the test.
func setPageHits(t *testing.T, n int) {
	old := pageHits
	pageHits = n
	t.Cleanup(func() { pageHits = old })
}

// TestInvestigatorShowsMore: past a page the count says how many match in all, and "Show more"
// fetches the next page.
func TestInvestigatorShowsMore(t *testing.T) {
	setPageHits(t, 20)
	s, iv := investigatorOn(t)
	if len(iv.hits) != 20 || iv.status.Text[:len("53 events match · newest 20 shown")] != "53 events match · newest 20 shown" || !iv.more.Visible() {
		t.Fatalf("first page: %d events, status %q, more shown %v", len(iv.hits), iv.status.Text, iv.more.Visible())
	}
	test.Tap(iv.more)
	settle(t, s)
	if len(iv.hits) != 40 || iv.status.Text != "53 events match · newest 40 shown · bars: events per 5 min (choose one to zoom in)" {
		t.Errorf("after a second page: %d events, status %q", len(iv.hits), iv.status.Text)
	}
	test.Tap(iv.more)
	settle(t, s)
	if len(iv.hits) != 53 || iv.more.Visible() || iv.status.Text != "53 events match · all 53 shown · bars: events per 5 min (choose one to zoom in)" {
		t.Errorf("after two more pages: %d events, more shown %v, status %q; want all 53 and no more", len(iv.hits), iv.more.Visible(), iv.status.Text)
	}
	// The pages follow on: the whole list is newest first, each event once.
	seen := map[string]bool{}
	for i, h := range iv.hits {
		if seen[h.EventID] || i > 0 && h.Time.After(iv.hits[i-1].Time) {
			t.Fatalf("row %d (%s) repeats or is out of order", i, h.EventID)
		}
		seen[h.EventID] = true
	}
}

// TestDrilldownOpensInvestigator: from an anomaly, "Open in investigator" searches its window and
// entity, and choosing a field of an event searches the window for that value.
func TestDrilldownOpensInvestigator(t *testing.T) {
	s, _ := openedCase(t)
	d := drillRiskNine(t, s)
	test.Tap(findButton(d.content, "Open in investigator"))
	settle(t, s)
	iv := s.view.investigator
	if s.view.current != screenInvestigator || s.view.drill != nil {
		t.Fatalf("the investigator is not on show (screen %d)", s.view.current)
	}
	want := query.Format(query.MustParse("eventTime>=2024-05-09T20:25:00Z eventTime<2024-05-09T20:30:00Z sourceIPAddress:203.0.113.7"))
	if iv.query.Text != want || len(iv.hits) != 5 {
		t.Fatalf("opened on %q with %d events; want %q and the 5 of the burst", iv.query.Text, len(iv.hits), want)
	}

	test.Tap(s.view.overview.riskTiles[9])
	settle(t, s)
	d = s.view.drill
	d.events.Select(widget.TableCellID{Row: 0, Col: 1})
	settle(t, s)
	d.fieldsTable.Select(widget.TableCellID{Row: slices.IndexFunc(d.fields, func(f field) bool { return f.Key == "eventName" }), Col: 1})
	settle(t, s)
	if !strings.Contains(iv.query.Text, "eventName:ListBuckets") || len(iv.hits) != 1 {
		t.Errorf("choosing the event's name searched %q and found %d; want the window's one ListBuckets", iv.query.Text, len(iv.hits))
	}
}

func TestAddFieldTo(t *testing.T) {
	for _, c := range []struct {
		q    string
		f    field
		want string
	}{
		{"", field{"eventName", "GetObject"}, "eventName:GetObject"},
		{"getobject", field{"resources[2].ARN", "arn:aws:s3:::b"}, `getobject AND resources.ARN:"arn:aws:s3:::b"`},
		{"", field{"requestParameters.key", "a b"}, `requestParameters.key:"a b"`},
		{"x OR y", field{"readOnly", "true"}, "(x OR y) AND readOnly:true"},
	} {
		got, err := addFieldTo(c.q, c.f)
		if err != nil || got != query.Format(query.MustParse(c.want)) {
			t.Errorf("addFieldTo(%q, %v) = %q, %v; want %q", c.q, c.f, got, err, c.want)
		}
	}
	for _, c := range []struct {
		q string
		f field
	}{{"", field{"responseElements", "null"}}, {"", field{"resources", "[]"}}, {"eventName:(", field{"eventName", "X"}}} {
		if got, err := addFieldTo(c.q, c.f); err == nil {
			t.Errorf("addFieldTo(%q, %v) = %q; want an error", c.q, c.f, got)
		}
	}
}

func TestShortKey(t *testing.T) {
	for k, want := range map[string]string{
		"eventName": "eventName",
		"userIdentity.sessionContext.sessionIssuer.principalId":   "userIdentity.….principalId",
		"userIdentity.sessionContext.attributes.mfaAuthenticated": "userIdentity.….mfaAuthenticated",
		"requestParameters.a.b":                                   "requestParameters.a.b",
	} {
		if got := shortKey(k, maxKeyChars); got != want || len(got) > maxKeyChars+2 {
			t.Errorf("shortKey(%q) = %q, want %q", k, got, want)
		}
	}
}

// addressPivot opens the fixture's risk-9 anomaly and the pivot on the first address of its
// window, and returns the pivot's dialog.
func addressPivot(t *testing.T) (*shell, fyne.CanvasObject) {
	t.Helper()
	s, _ := openedCase(t)
	test.Tap(s.view.overview.riskTiles[9])
	settle(t, s)
	s.view.drill.addrTable.Select(widget.TableCellID{Row: 0, Col: 0})
	settle(t, s)
	return s, s.win.Canvas().Overlays().Top()
}

// TestPivotSearchesItsEvents: a pivot's "Search these events" closes the pivots and lists, in the
// investigator, the events the profile counted.
func TestPivotSearchesItsEvents(t *testing.T) {
	s, top := addressPivot(t)
	call := findLink(top, "GetObject")
	test.TapAt(call, fyne.NewPos(call.MinSize().Width/2, call.MinSize().Height/2)) // over its text

	settle(t, s)
	if len(s.view.dialogs) != 2 {
		t.Fatalf("%d pivots open, want the address's and the call's", len(s.view.dialogs))
	}
	test.Tap(findButton(s.win.Canvas().Overlays().Top(), "Search these events"))
	settle(t, s)
	iv := s.view.investigator
	if len(s.view.dialogs) != 0 || s.win.Canvas().Overlays().Top() != nil {
		t.Errorf("pivots still open over the investigator: %d", len(s.view.dialogs))
	}
	if s.view.current != screenInvestigator || iv.query.Text != "eventName:GetObject" || len(iv.hits) != 4 {
		t.Errorf("the call's events: screen %d, query %q, %d events; want the investigator on eventName:GetObject with 4",
			s.view.current, iv.query.Text, len(iv.hits))
	}
}

// TestPivotBack: the first pivot closes; one opened from it goes back to it, or closes both.
func TestPivotBack(t *testing.T) {
	s, top := addressPivot(t)
	if findButton(top, "Close") == nil || findButton(top, "Back") != nil {
		t.Fatal("the first pivot should have Close and no Back")
	}
	call := findLink(top, "GetObject")
	test.TapAt(call, fyne.NewPos(call.MinSize().Width/2, call.MinSize().Height/2))
	settle(t, s)
	second := s.win.Canvas().Overlays().Top()
	back := findButton(second, "Back")
	if back == nil || findButton(second, "Close all") == nil || findButton(second, "Close") != nil {
		t.Fatal("a pivot opened from another should have Back and Close all, and no Close")
	}
	test.Tap(back)
	settle(t, s)
	if len(s.view.dialogs) != 1 || s.win.Canvas().Overlays().Top() != top {
		t.Fatalf("Back left %d pivots open, want the address's", len(s.view.dialogs))
	}
	test.TapAt(call, fyne.NewPos(call.MinSize().Width/2, call.MinSize().Height/2))
	settle(t, s)
	test.Tap(findButton(s.win.Canvas().Overlays().Top(), "Close all"))
	settle(t, s)
	if len(s.view.dialogs) != 0 || s.win.Canvas().Overlays().Top() != nil {
		t.Errorf("Close all left %d pivots open", len(s.view.dialogs))
	}
}

func TestPivotQuery(t *testing.T) {
	for _, c := range []struct{ kind, value, want string }{
		{app.PivotIP, "203.0.113.7", "sourceIPAddress:203.0.113.7"},
		{app.PivotEvent, "GetObject", "eventName:GetObject"},
		{app.PivotPrincipal, "arn:aws:iam::1:user/a b", `userIdentity.arn:"arn:aws:iam::1:user/a b"`},
		{app.PivotKey, "AKIAEXAMPLE", "userIdentity.accessKeyId:AKIAEXAMPLE"},
		{app.PivotKey, "arn:aws:iam::1:role/r", "userIdentity.arn:arn:aws:iam::1:role/r OR userIdentity.sessionContext.sessionIssuer.arn:arn:aws:iam::1:role/r"},
	} {
		got := pivotQuery(c.kind, c.value)
		if got != c.want {
			t.Errorf("pivotQuery(%s, %q) = %q, want %q", c.kind, c.value, got, c.want)
		}
		if _, err := query.Parse(got); err != nil {
			t.Errorf("pivotQuery(%s, %q) = %q does not parse: %v", c.kind, c.value, got, err)
		}
	}
}

func TestShortARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc": "assumed-role/web-waf/i-0abc",
		"arn:aws:iam::111122223333:user/alice":                  "user/alice",
		"arn:aws:iam::111122223333:root":                        "root",
		"AWS Internal":                                          "AWS Internal",
		"alice":                                                 "alice",
		"arn:aws:s3:::bucket/key:with:colons":                   "bucket/key:with:colons",
	} {
		if got := shortARN(in); got != want {
			t.Errorf("shortARN(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMatchTimeline: a search's timeline counts every match, in bins as wide as its span needs.
func TestMatchTimeline(t *testing.T) {
	s, iv := investigatorOn(t)
	if !iv.timeline.Visible() || iv.timeline.m.img == nil || !strings.Contains(iv.status.Text, "bars: events per 5 min") {
		t.Errorf("no timeline of the case's events (status %q)", iv.status.Text)
	}
	setPageHits(t, 3)
	search(t, s, iv, "DescribeInstances")
	// 48 calls, one every half hour: more than the page, counted by the case.
	if !strings.HasPrefix(iv.status.Text, "48 events match · newest 3 shown") || !iv.timeline.Visible() {
		t.Errorf("status %q, timeline shown %v; want 48 counted beyond the page, with a timeline", iv.status.Text, iv.timeline.Visible())
	}
	search(t, s, iv, "nosuchvalue")
	if !strings.HasPrefix(iv.status.Text, "0 events match") || iv.timeline.Visible() {
		t.Errorf("no match: status %q, timeline shown %v", iv.status.Text, iv.timeline.Visible())
	}

	day := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	var ts []time.Time
	for i := range 10 {
		ts = append(ts, day.Add(time.Duration(i)*24*time.Hour+time.Duration(i)*time.Minute))
	}
	bins := binTimes(ts, 5*time.Minute)
	if len(bins) != 10 || bins[0].Start != day || bins[9].Events != 1 {
		t.Fatalf("binTimes: %+v", bins)
	}
	m := drawMatches(bins, currentPalette(), 600, 1)
	if m.total != 10 || m.bin != time.Hour || m.img == nil {
		t.Errorf("nine days of matches: total %d, bin %v, drawn %v; want 10 per hour", m.total, m.bin, m.img != nil)
	}
	if m := drawMatches(nil, currentPalette(), 600, 1); m.total != 0 || m.img != nil {
		t.Errorf("no matches drew %v, total %d", m.img != nil, m.total)
	}
}

// TestInvestigatorExports: the search on show goes to a file, every match of it, not only the
// page; the status says where.
func TestInvestigatorExports(t *testing.T) {
	s, iv := investigatorOn(t)
	setPageHits(t, 2)
	search(t, s, iv, "DescribeInstances")
	if iv.export.Disabled() {
		t.Fatal("Export is disabled with 48 matches counted")
	}
	path := filepath.Join(t.TempDir(), "out.csv")
	iv.exportTo(path, false)
	settle(t, s)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(body), "\n"); lines != 49 || !strings.HasPrefix(string(body), "event_time,event_id,") {
		t.Errorf("the CSV export has %d lines, want a header and the 48 matches:\n%s", lines, body)
	}
	if iv.status.Text != "Exported 48 events to "+path+"." || s.win.Canvas().Overlays().Top() != nil {
		t.Errorf("after the export: status %q, dialog left open %v", iv.status.Text, s.win.Canvas().Overlays().Top() != nil)
	}
	search(t, s, iv, "nosuchvalue")
	if !iv.export.Disabled() {
		t.Error("Export is enabled with nothing to export")
	}
}

// TestEscapeClosesExport: Escape closes the export's choice of form, as it closes a pivot.
func TestEscapeClosesExport(t *testing.T) {
	s, iv := investigatorOn(t)
	test.Tap(iv.export)
	if s.win.Canvas().Overlays().Top() == nil {
		t.Fatal("Export… opened no dialog")
	}
	s.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if top := s.win.Canvas().Overlays().Top(); top != nil || len(s.view.dialogs) != 0 {
		t.Errorf("after Escape: %q still open", overlayTexts(top))
	}
	if s.view.current != screenInvestigator {
		t.Errorf("Escape left the investigator for screen %d", s.view.current)
	}
}

// TestInvestigatorSaysIndexIsBuilding: while the full-text index is being built, a search with
// words says they may miss events; one without words does not.
func TestInvestigatorSaysIndexIsBuilding(t *testing.T) {
	s, iv := investigatorOn(t)
	s.view.indexing = true
	search(t, s, iv, "getobject")
	if !strings.Contains(iv.status.Text, "search index is still being built") {
		t.Errorf("a word search during indexing says %q", iv.status.Text)
	}
	search(t, s, iv, "eventName:GetObject")
	if strings.Contains(iv.status.Text, "search index") {
		t.Errorf("a field search during indexing says %q", iv.status.Text)
	}
	s.view.indexing = false
}

// TestTimelineZooms: choosing a bar of a search's timeline narrows the search to its bin.
func TestTimelineZooms(t *testing.T) {
	s, iv := investigatorOn(t)
	search(t, s, iv, "DescribeInstances") // one every half hour through the fixture's day
	tl := iv.timeline
	if !tl.Visible() || tl.m.bin != 5*time.Minute || tl.Size().Width <= 0 {
		t.Fatalf("timeline shown %v, bin %v, width %v", tl.Visible(), tl.m.bin, tl.Size().Width)
	}
	// The middle of the 10:00 bar, in the widget's coordinates.
	at := day.Add(10*time.Hour + 150*time.Second)
	sp := tl.m.span
	px := float64(sp.Left) + float64(at.Sub(tl.m.from))/float64(tl.m.to.Sub(tl.m.from))*float64(sp.Right-sp.Left)
	x := float32(px) / float32(tl.m.img.Bounds().Dx()) * tl.Size().Width
	tl.Tapped(&fyne.PointEvent{Position: fyne.NewPos(x, matchesH/2)})
	settle(t, s)
	want := query.Format(query.MustParse("DescribeInstances eventTime>=2024-05-09T10:00:00Z eventTime<2024-05-09T10:05:00Z"))
	if iv.query.Text != want || len(iv.hits) != 1 {
		t.Errorf("after choosing the 10:00 bar: query %q, %d events; want %q and the one call", iv.query.Text, len(iv.hits), want)
	}
	if _, _, ok := tl.binAt(-5); ok {
		t.Error("a tap left of the axis found a bin")
	}
}

// TestTimelineFades: while a new search is under way the last one's timeline is faint and its
// bars cannot be chosen; the new search's timeline replaces it, whole.
func TestTimelineFades(t *testing.T) {
	s, iv := investigatorOn(t)
	search(t, s, iv, "DescribeInstances")
	tl := iv.timeline
	x := tl.Size().Width / 2
	if _, _, ok := tl.binAt(x); !ok || tl.img.Translucency != 0 {
		t.Fatalf("timeline of the search: bar in the middle %v, translucency %v", ok, tl.img.Translucency)
	}
	iv.query.SetText("ListBuckets")
	iv.query.OnSubmitted("ListBuckets") // its results wait in the hand-off queue until settle
	if _, _, ok := tl.binAt(x); ok || tl.img.Translucency == 0 || tl.Cursor() != desktop.DefaultCursor {
		t.Errorf("while the next search runs: bar choosable %v, translucency %v", ok, tl.img.Translucency)
	}
	settle(t, s)
	if _, _, ok := tl.binAt(x); !ok || tl.img.Translucency != 0 || !strings.HasPrefix(iv.query.Text, "ListBuckets") {
		t.Errorf("after the next search: bar choosable %v, translucency %v", ok, tl.img.Translucency)
	}
}

// TestSearchStops: while a search runs its button stops it; the events on show stay, and its
// results, should they come after, are dropped.
func TestSearchStops(t *testing.T) {
	s, iv := investigatorOn(t)
	search(t, s, iv, "DescribeInstances")
	before := slices.Clone(iv.hits)
	if iv.search.Text != "Search" || len(before) == 0 {
		t.Fatalf("after a search: button %q, %d events", iv.search.Text, len(before))
	}
	iv.query.SetText("ListBuckets")
	iv.query.OnSubmitted("ListBuckets") // its results wait in the hand-off queue
	if iv.search.Text != "Stop" {
		t.Fatalf("while searching the button says %q", iv.search.Text)
	}
	test.Tap(iv.search)
	settle(t, s)
	if iv.search.Text != "Search" || iv.status.Text != "Search stopped — the events below are the last search's" {
		t.Errorf("stopped: button %q, status %q", iv.search.Text, iv.status.Text)
	}
	if len(iv.hits) != len(before) || iv.hits[0].EventID != before[0].EventID {
		t.Errorf("the stopped search's results replaced the events on show")
	}
	// Stopped once its first page is on show: the count is what stops.
	search(t, s, iv, "ListBuckets")
	iv.running(true)
	iv.counting = true
	test.Tap(iv.search)
	if want := fmt.Sprintf("Stopped before the matches were counted · newest %d shown", len(iv.hits)); iv.status.Text != want {
		t.Errorf("status %q, want %q", iv.status.Text, want)
	}
	// And the button searches again.
	test.Tap(iv.search)
	settle(t, s)
	if !strings.Contains(iv.status.Text, "match") || iv.search.Text != "Search" {
		t.Errorf("searching again: status %q, button %q", iv.status.Text, iv.search.Text)
	}
}

// TestPivotListsRules: a pivot lists the rules that matched its events; choosing one closes the
// pivots and searches that rule's matches among them.
func TestPivotListsRules(t *testing.T) {
	s, top := addressPivot(t)
	link := findLink(top, "6 medium · Instance credentials listing buckets")
	if link == nil {
		t.Fatalf("the address's pivot lists no rule: %q", overlayTexts(top))
	}
	test.TapAt(link, fyne.NewPos(link.MinSize().Width/2, link.MinSize().Height/2))
	settle(t, s)
	iv := s.view.investigator
	if len(s.view.dialogs) != 0 || s.view.current != screenInvestigator ||
		iv.query.Text != `sourceIPAddress:203.0.113.7 rule:"Instance credentials listing buckets"` || len(iv.hits) != 1 {
		t.Errorf("the rule's link: %d pivots open, query %q, %d events", len(s.view.dialogs), iv.query.Text, len(iv.hits))
	}
}

// countRowOf is the row of the count with this value, as the list shows it with its buttons.
func countRowOf(t *testing.T, vc *valueCounts, value string, none bool) (countRow, *widget.Button, *widget.Button) {
	t.Helper()
	for i, r := range vc.rows {
		if r.none == none && (none || r.Value == value) {
			o := vc.newRow()
			vc.updateRow(i, o)
			buttons := o.(*fyne.Container).Objects[1].(*fyne.Container).Objects
			return r, buttons[0].(*widget.Button), buttons[1].(*widget.Button)
		}
	}
	t.Fatalf("the count by %s lists no %q (none %v): %+v", vc.field.Text, value, none, vc.rows)
	return countRow{}, nil, nil
}

// TestInvestigatorCountsByField: the count tab stacks the search's matches by a field; + keeps
// a value's events, − leaves them out, and the count follows the new search.
func TestInvestigatorCountsByField(t *testing.T) {
	s, iv := investigatorOn(t)
	vc := iv.counts
	iv.tabs.Select(iv.tabs.Items[1])
	settle(t, s)
	if !strings.HasPrefix(vc.status.Text, "53 events · ") || len(vc.rows) == 0 {
		t.Fatalf("the count of every event: %q, %d rows", vc.status.Text, len(vc.rows))
	}
	var sum int64
	for _, r := range vc.rows {
		sum += r.Events
	}
	if sum != 53 {
		t.Errorf("the principals' counts add up to %d, want the 53 events", sum)
	}
	vc.field.SetText("sourceIPAddress") // chosen from the list: counts at once
	settle(t, s)
	r, keep, _ := countRowOf(t, vc, "203.0.113.7", false)
	if r.Events != 5 {
		t.Errorf("203.0.113.7 counted %d events, want the burst's 5", r.Events)
	}
	// An address has a pivot: what else it did.
	row := vc.newRow()
	vc.updateRow(slices.IndexFunc(vc.rows, func(c countRow) bool { return c.Value == "203.0.113.7" }), row)
	pivot := row.(*fyne.Container).Objects[2].(*fyne.Container).Objects[1].(*widget.Button)
	if pivot.Hidden {
		t.Fatal("no pivot on an address")
	}
	open := len(s.view.dialogs)
	test.Tap(pivot)
	settle(t, s)
	if len(s.view.dialogs) != open+1 {
		t.Error("the pivot did not open")
	}
	s.view.dialogs[len(s.view.dialogs)-1].Hide()
	test.Tap(keep)
	settle(t, s)
	if iv.query.Text != "sourceIPAddress:203.0.113.7" || len(iv.hits) != 5 {
		t.Fatalf("+ on the address: query %q, %d events; want it alone and 5", iv.query.Text, len(iv.hits))
	}
	if vc.status.Text != "5 events · 1 value of sourceIPAddress" {
		t.Errorf("the count did not follow the search: %q", vc.status.Text)
	}
	test.Tap(vc.copyBtn)
	if got := s.app.Clipboard().Content(); !strings.HasPrefix(got, "sourceIPAddress:203.0.113.7\ncounted by sourceIPAddress: 5 events") ||
		!strings.Contains(got, "         5    100%  203.0.113.7\n") {
		t.Errorf("Copy put %q on the clipboard", got)
	}
	vc.field.SetText("errorCode")
	settle(t, s)
	denied, _, _ := countRowOf(t, vc, "AccessDenied", false)
	none, _, drop := countRowOf(t, vc, "", true)
	if denied.Events+none.Events != 5 {
		t.Errorf("errorCode: %d denied and %d without, want 5 in all", denied.Events, none.Events)
	}
	test.Tap(drop) // − on "no value": only the events with an error code
	settle(t, s)
	if want := "sourceIPAddress:203.0.113.7 errorCode:*"; iv.query.Text != want || int64(len(iv.hits)) != denied.Events {
		t.Errorf("− on no value: query %q, %d events; want %q and %d", iv.query.Text, len(iv.hits), want, denied.Events)
	}
	_, _, drop = countRowOf(t, vc, "AccessDenied", false)
	test.Tap(drop)
	settle(t, s)
	if !strings.HasSuffix(iv.query.Text, "-errorCode:AccessDenied") || len(iv.hits) != 0 {
		t.Errorf("− on AccessDenied: query %q, %d events; want it left out, and none left", iv.query.Text, len(iv.hits))
	}
	vc.field.SetText("a b")
	vc.field.OnSubmitted("a b")
	settle(t, s)
	if vc.status.Importance != widget.DangerImportance || !strings.Contains(vc.status.Text, "no field") {
		t.Errorf("a bad field: %q", vc.status.Text)
	}
	// Stop ends a count under way; what it would have found is not shown.
	search(t, s, iv, "")
	vc.field.SetText("eventName")
	if vc.stopBtn.Hidden {
		t.Error("no Stop while counting")
	}
	test.Tap(vc.stopBtn)
	settle(t, s)
	if vc.status.Text != "Count stopped." || len(vc.rows) != 0 || !vc.stopBtn.Hidden {
		t.Errorf("after Stop: %q, %d rows, Stop shown %v", vc.status.Text, len(vc.rows), !vc.stopBtn.Hidden)
	}
	// Choosing an event shows it, whatever tab is on show.
	iv.results.Select(widget.TableCellID{Row: 0, Col: 1})
	settle(t, s)
	if iv.tabs.Selected() != iv.eventTab {
		t.Error("choosing an event left the count on show")
	}
}

func TestPercent(t *testing.T) {
	for share, want := range map[float64]string{0: "0.0%", 0.0004: "<0.1%", 0.053: "5.3%", 0.35: "35%", 0.997: ">99%", 1: "100%"} {
		if got := percent(share); got != want {
			t.Errorf("percent(%v) = %q, want %q", share, got, want)
		}
	}
}
