package ui

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/store"
)

// entries lists the entries inside o, in layout order.
func entries(o fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	for _, c := range objects(o) {
		switch e := c.(type) {
		case *widget.Entry:
			out = append(out, e)
		case *escEntry:
			out = append(out, &e.Entry)
		}
	}
	return out
}

// indicatorTexts are the overview's rule-match buttons' labels.
func indicatorTexts(o *overview) []string {
	var out []string
	for _, c := range o.indicators.Objects {
		if b, ok := c.(*widget.Button); ok {
			out = append(out, b.Text)
		}
	}
	return out
}

// TestRulesOnOpen: a case gets the built-in rules when it opens and they run over its events; the
// fixture's instance role listing buckets is an indicator on the overview, which searches it.
func TestRulesOnOpen(t *testing.T) {
	s, _ := openedCase(t)
	s.view.nav.Select(screenRules)
	settle(t, s)
	rv := s.view.rules
	if len(rv.rules) != len(app.BuiltinRules()) {
		t.Fatalf("%d rules listed, want the %d built in", len(rv.rules), len(app.BuiltinRules()))
	}
	i := slices.IndexFunc(rv.rules, func(r store.Rule) bool { return r.Name == "Instance credentials listing buckets" })
	if i < 0 || rv.rules[i].Matches != 1 {
		t.Fatalf("the instance role's ListBuckets did not match its rule: %+v", rv.rules)
	}
	want := "6 · Instance credentials listing buckets · 1 event"
	if got := indicatorTexts(s.view.overview); !slices.Equal(got, []string{want}) {
		t.Fatalf("overview indicators %q, want %q", got, want)
	}
	test.Tap(findButton(s.view.overview.content, want))
	settle(t, s)
	if iv := s.view.investigator; s.view.current != screenInvestigator || len(iv.hits) != 1 || iv.hits[0].EventName != "ListBuckets" ||
		iv.hits[0].Rule != "Instance credentials listing buckets" {
		t.Errorf("the indicator searched %q and found %d events (%+v)", iv.query.Text, len(iv.hits), iv.hits)
	}

	// Disabling a rule keeps it, off.
	s.view.nav.Select(screenRules)
	settle(t, s)
	rv.table.Select(widget.TableCellID{Row: i, Col: 2})
	test.Tap(rv.toggle)
	settle(t, s)
	if rv.rules[rv.sel].Name != "Instance credentials listing buckets" || rv.rules[rv.sel].Enabled || rv.toggle.Text != "Enable" {
		t.Errorf("after Disable: %+v, button %q", rv.rules[rv.sel], rv.toggle.Text)
	}
}

// TestSaveSearchAsRule: the investigator's query becomes a rule in two steps; a rule without a
// name is refused with the reason, and the dialog stays.
func TestSaveSearchAsRule(t *testing.T) {
	s, iv := investigatorOn(t)
	search(t, s, iv, "errorCode:AccessDenied")
	test.Tap(iv.saveRule)
	top := s.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("Save as rule opened no dialog")
	}
	es := entries(top)
	if !slices.ContainsFunc(es, func(e *widget.Entry) bool { return e.Text == "errorCode:AccessDenied" }) {
		t.Fatal("the rule editor does not hold the search's query")
	}
	test.Tap(findButton(top, "Save"))
	settle(t, s)
	if s.win.Canvas().Overlays().Top() != top || !slices.ContainsFunc(overlayTexts(top), func(t string) bool { return strings.HasPrefix(t, "name:") }) {
		t.Fatalf("a rule without a name was not refused: %q", overlayTexts(top))
	}
	es[0].SetText("Denied calls") // the name comes first
	test.Tap(findButton(top, "Save"))
	settle(t, s)
	if s.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("the editor stayed open: %q", overlayTexts(s.win.Canvas().Overlays().Top()))
	}
	rules, err := s.view.c.Rules(s.view.ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rules, func(r store.Rule) bool { return r.Name == "Denied calls" })
	if i < 0 || rules[i].Matches != 1 || rules[i].Query != "errorCode:AccessDenied" {
		t.Fatalf("saved rule: %+v", rules)
	}
	if !slices.Contains(indicatorTexts(s.view.overview), "5 · Denied calls · 1 event") {
		t.Errorf("the new rule's match is not on the overview: %q", indicatorTexts(s.view.overview))
	}
}

// TestImportSigmaRule: a Sigma file becomes a rule that runs; one for Windows is refused with a
// message naming the file.
func TestImportSigmaRule(t *testing.T) {
	s, _ := openedCase(t)
	s.view.nav.Select(screenRules)
	settle(t, s)
	rv := s.view.rules
	dir := filepath.Join("..", "data", "sigma", "testdata")
	rv.importSigma(filepath.Join(dir, "trail_tampering.yml"))
	settle(t, s)
	if !slices.ContainsFunc(rv.rules, func(r store.Rule) bool { return r.Name == "CloudTrail logging switched off" && r.Label == "sigma" }) ||
		!strings.HasPrefix(rv.status.Text, "Imported \"CloudTrail logging switched off\"") {
		t.Fatalf("the Sigma rule is not listed (status %q)", rv.status.Text)
	}
	rv.importSigma(filepath.Join(dir, "windows.yml"))
	settle(t, s)
	top := s.win.Canvas().Overlays().Top()
	if top == nil || !slices.ContainsFunc(overlayTexts(top), func(t string) bool { return strings.Contains(t, "windows.yml") && strings.Contains(t, "logsource") }) {
		t.Errorf("a Windows rule was not refused with its file and reason: %v", top)
	}
}

// TestDrilldownShowsRuleMatches: the anomaly's window lists the rules that matched in it, and the
// event a rule matched names it in the events table.
func TestDrilldownShowsRuleMatches(t *testing.T) {
	s, _ := openedCase(t)
	d := drillRiskNine(t, s)
	var got []string
	for _, c := range d.indicators.Objects {
		if b, ok := c.(*widget.Button); ok {
			got = append(got, b.Text)
		}
	}
	if want := "6 · Instance credentials listing buckets · 1 event"; !slices.Equal(got, []string{want}) {
		t.Errorf("rule matches in the window %q, want %q", got, want)
	}
	for i := range 5 {
		e, ok := d.row(i)
		want := ""
		if e.EventName == "ListBuckets" {
			want = "Instance credentials listing buckets"
		}
		if !ok || e.Rule != want {
			t.Errorf("row %d (%s): rule %q, want %q", i, e.EventName, e.Rule, want)
		}
	}
}

// TestRulesFailOnce: when the rules cannot run (the case went read-only, say), the error shows
// once; the scheduled runs that follow stay quiet, and a run asked for says it again.
func TestRulesFailOnce(t *testing.T) {
	s, _ := openedCase(t)
	if err := s.view.c.Close(); err != nil { // every read and write of the case fails from now on
		t.Fatal(err)
	}
	s.view.runRules(true)
	settle(t, s)
	first := s.win.Canvas().Overlays().Top()
	if first == nil || !s.view.rulesFailed {
		t.Fatal("a failed run of the rules said nothing")
	}
	first.Hide()
	s.view.runRules(true)
	settle(t, s)
	if top := s.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("a scheduled run after a failure showed %q", overlayTexts(top))
	}
	s.view.runRules(false)
	settle(t, s)
	if s.win.Canvas().Overlays().Top() == nil {
		t.Error("a run asked for after a failure did not say it failed again")
	}
}

// TestBurstRuleInEditor: the editor makes a burst rule, refusing a count under 2; Show matches
// lists what the rule matched, Search its query everything the query finds.
func TestBurstRuleInEditor(t *testing.T) {
	s, _ := openedCase(t)
	s.view.nav.Select(screenRules)
	settle(t, s)
	rv := s.view.rules
	test.Tap(findButton(rv.content, "New rule…"))
	top := s.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("New rule opened no dialog")
	}
	var radio *widget.RadioGroup
	var window, group *widget.Select
	var count *widget.Entry
	for _, o := range objects(top) {
		switch w := o.(type) {
		case *widget.RadioGroup:
			radio = w
		case *widget.Select:
			if slices.Contains(w.Options, "1 day") {
				window = w
			}
			if slices.Contains(w.Options, groupAll) {
				group = w
			}
		case *escEntry:
			if w.Text == "5" {
				count = &w.Entry
			}
		}
	}
	if radio == nil || window == nil || group == nil || count == nil {
		t.Fatal("the editor has no burst choices")
	}
	es := entries(top)
	es[0].SetText("Pairs from one address")
	es[2].SetText("eventName:*") // name, description, query
	radio.SetSelected(firesBurst)
	count.SetText("1")
	test.Tap(findButton(top, "Save"))
	settle(t, s)
	if !slices.ContainsFunc(overlayTexts(top), func(t string) bool { return strings.HasPrefix(t, "fires on:") }) {
		t.Fatalf("a burst of 1 was not refused: %q", overlayTexts(top))
	}
	count.SetText("2")
	window.SetSelected("1 minute")
	group.SetSelected("sourceIPAddress")
	test.Tap(findButton(top, "Test"))
	settle(t, s)
	var tried string
	for _, txt := range overlayTexts(top) {
		if strings.HasPrefix(txt, "It would match ") {
			tried = txt
		}
	}
	test.Tap(findButton(top, "Save"))
	settle(t, s)
	if s.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("the editor stayed open: %q", overlayTexts(s.win.Canvas().Overlays().Top()))
	}
	i := slices.IndexFunc(rv.rules, func(r store.Rule) bool { return r.Name == "Pairs from one address" })
	if i < 0 {
		t.Fatal("the burst rule is not listed")
	}
	r := rv.rules[i]
	total, err := s.view.c.Count(s.view.ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	// What it should match, the slow way: events with another from their address less than a
	// minute before or after.
	var all []store.Hit
	s.view.c.Search(s.view.ctx, store.Filter{}, 0, func(h store.Hit) error { all = append(all, h); return nil })
	var want int64
	for _, h := range all {
		if slices.ContainsFunc(all, func(o store.Hit) bool {
			return o.EventID != h.EventID && o.SourceIP == h.SourceIP && o.Time.Sub(h.Time).Abs() < time.Minute
		}) {
			want++
		}
	}
	if r.Threshold != 2 || r.Window != 1 || r.GroupBy != "sourceIPAddress" || r.Matches != want || want == 0 || want == total {
		t.Fatalf("saved %+v; want a burst of 2 in a minute by address, matching %d of the %d events", r, want, total)
	}
	if wantTried := fmt.Sprintf("It would match %s in this case.", counted(want, "event", "events")); tried != wantTried {
		t.Errorf("Test said %q, want %q", tried, wantTried)
	}
	if got := firesOn(&r); got != "2+ in 1 min" {
		t.Errorf("Fires on column %q", got)
	}
	rv.table.Select(widget.TableCellID{Row: i, Col: 2})
	test.Tap(rv.show)
	settle(t, s)
	iv := s.view.investigator
	if iv.query.Text != `rule:"Pairs from one address"` || int64(len(iv.hits)) != r.Matches {
		t.Errorf("Show matches searched %q and found %d; want the rule's %d", iv.query.Text, len(iv.hits), r.Matches)
	}
	s.view.nav.Select(screenRules)
	settle(t, s)
	test.Tap(rv.search)
	settle(t, s)
	if iv.query.Text != "eventName:*" || int64(len(iv.hits)) != min(total, 500) {
		t.Errorf("Search its query searched %q and found %d; want all %d", iv.query.Text, len(iv.hits), total)
	}
}

// TestEscapeClosesRuleEditor: Escape closes the editor while its entry has the focus (a focused
// widget gets every key before the window does).
func TestEscapeClosesRuleEditor(t *testing.T) {
	s, _ := openedCase(t)
	s.view.nav.Select(screenRules)
	settle(t, s)
	test.Tap(findButton(s.view.rules.content, "New rule…"))
	if s.win.Canvas().Overlays().Top() == nil {
		t.Fatal("New rule opened no dialog")
	}
	f := s.win.Canvas().Focused()
	if f == nil {
		t.Fatal("nothing has the focus in the editor")
	}
	f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if s.win.Canvas().Overlays().Top() != nil {
		t.Error("Escape in the name entry left the editor open")
	}
}

// TestRuleSavedDuringRun: a run asked for while the rules run (the editor's Save during one,
// whose rule the run under way may not have read) follows that run, and shows its result.
func TestRuleSavedDuringRun(t *testing.T) {
	s, _ := openedCase(t)
	v := s.view
	// A rule that matches nothing: a scheduled run that adds nothing reloads no list.
	if _, err := v.c.SaveRule(v.ctx, store.Rule{Name: "Late rule", Query: "eventName:NoSuchCall", Severity: 5, Every: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	v.ruling = true   // a run under way
	v.runRules(false) // what Save asks for
	if !v.rulesAgain {
		t.Fatal("a run asked for during a run was dropped")
	}
	v.ruling = false
	v.runRules(true) // the run under way, as scheduled runs go; the one asked for follows it
	settle(t, s)
	i := slices.IndexFunc(v.rules.rules, func(r store.Rule) bool { return r.Name == "Late rule" })
	if i < 0 || v.rules.rules[i].LastRun.IsZero() || v.rulesAgain {
		t.Errorf("after the runs, the Rules screen lists the new rule at %d (again %v)", i, v.rulesAgain)
	}
}

// TestDrilldownFollowsRuleRuns: a drilldown open while the rules run (the first run on opening
// a case) shows what the run matched in its window once it ends.
func TestDrilldownFollowsRuleRuns(t *testing.T) {
	s, _ := openedCase(t)
	v := s.view
	d := drillRiskNine(t, s)
	if _, err := v.c.SaveRule(v.ctx, store.Rule{Name: "Object reads", Query: "eventName:GetObject", Severity: 5, Every: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	v.runRules(false)
	settle(t, s)
	if !slices.ContainsFunc(d.rules, func(h app.RuleHits) bool { return h.Rule.Name == "Object reads" && h.Events > 0 }) {
		t.Errorf("after the run, the drilldown's rules are %+v; want Object reads among them", d.rules)
	}
	if findButton(d.content, "5 · Object reads · 4 events") == nil {
		t.Error("no button for the new rule's matches in the drilldown")
	}
}

// TestBurstEditorKeepsOwnWindow: a rule whose window is none of the editor's choices (an
// imported one's) keeps it through the editor.
func TestBurstEditorKeepsOwnWindow(t *testing.T) {
	b := newBurstEditor(store.Rule{Threshold: 4, Window: 7, GroupBy: "sourceIPAddress", Distinct: "eventName"}, nil)
	var r store.Rule
	if err := b.read(&r); err != nil {
		t.Fatal(err)
	}
	if r.Threshold != 4 || r.Window != 7 || r.GroupBy != "sourceIPAddress" || r.Distinct != "eventName" {
		t.Errorf("read back %+v", r)
	}
	b.window.SetSelected("1 hour")
	b.distinct.SetText("")
	b.group.SetSelected(groupAll)
	if err := b.read(&r); err != nil || r.Window != 60 || r.Distinct != "" || r.GroupBy != "" {
		t.Errorf("after choosing an hour, all together, no distinct field: %+v, %v", r, err)
	}
}

// TestPivotFollowsRuleRuns: a pivot open during a rules run that adds matches among its events
// lists the new rule under "Rules that matched", and stops being read again once closed.
func TestPivotFollowsRuleRuns(t *testing.T) {
	s, top := addressPivot(t)
	v := s.view
	if findLink(top, "5 medium · Object reads") != nil {
		t.Fatal("the rule is listed before it exists")
	}
	if _, err := v.c.SaveRule(v.ctx, store.Rule{Name: "Object reads", Query: "eventName:GetObject", Severity: 5, Every: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	v.runRules(false)
	settle(t, s)
	if s.win.Canvas().Overlays().Top() != top || len(v.pivots) != 1 {
		t.Fatalf("the pivot should stay open alone; %d open", len(v.pivots))
	}
	if findLink(top, "5 medium · Object reads") == nil {
		t.Error("after the run, the pivot does not list the new rule")
	}
	test.Tap(findButton(top, "Close"))
	settle(t, s)
	if len(v.pivots) != 0 {
		t.Errorf("%d pivots still to read again after Close", len(v.pivots))
	}
}
