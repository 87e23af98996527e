package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

var ruleColumns = []column[*store.Rule]{
	{"On", 44, func(r *store.Rule) string {
		if r.Enabled {
			return "✓"
		}
		return "–"
	}},
	{"Severity", 110, func(r *store.Rule) string { return strconv.Itoa(r.Severity) + " " + finding.Severity(r.Severity) }},
	{"Name", 300, func(r *store.Rule) string { return r.Name }},
	{"Stage", 150, func(r *store.Rule) string { return r.Stage }},
	{"Matches", 80, func(r *store.Rule) string { return count(r.Matches) }},
	{"Fires on", 150, firesOn},
	{"Every", 90, func(r *store.Rule) string { return everyWords(r.Every) }},
}

// firesOn says in a few words when a rule makes indicators: "each match", or "5+ in 10 min".
func firesOn(r *store.Rule) string {
	if !r.Bursts() {
		return "each match"
	}
	n := strconv.Itoa(r.Threshold) + "+"
	if r.Distinct != "" {
		n += " distinct"
	}
	return n + " in " + shortMinutes(r.Window)
}

// shortMinutes says a span of minutes in few letters, for a table's column: "10 min", "6 h",
// "1 day".
func shortMinutes(m int) string {
	switch {
	case m >= 1440 && m%1440 == 0:
		return app.MinutesWords(m)
	case m >= 60 && m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d min", m)
}

// burstWindows are the editor's choices of a burst rule's window, in minutes.
var burstWindows = []int{1, 5, 10, 15, 30, 60, 360, 1440}

// severityImportance colours the severity column as the overview colours rule matches: critical
// in red, high in orange.
func severityImportance(col int, r *store.Rule) widget.Importance {
	if col != 1 {
		return widget.MediumImportance
	}
	return levelImportance(r.Severity)
}

// levelImportance colours a risk or severity 1–10: critical in red, high in orange.
func levelImportance(level int) widget.Importance {
	switch finding.Severity(level) {
	case "critical":
		return widget.DangerImportance
	case "high":
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

// schedules are the choices of how often a rule runs, in minutes.
var schedules = []struct {
	words   string
	minutes int
}{{"5 minutes", 5}, {"15 minutes", 15}, {"hour", 60}, {"day", 1440}}

func everyWords(minutes int) string {
	for _, s := range schedules {
		if s.minutes == minutes {
			return s.words
		}
	}
	return fmt.Sprintf("%d minutes", minutes)
}

// rulesView lists the case's rules: saved queries that run on a schedule, each match an
// indicator beside the anomalies.
type rulesView struct {
	v       *caseView
	content fyne.CanvasObject
	rules   []store.Rule
	table   *keyTable
	status  *widget.Label
	note    string // the last import, shown before the summary
	sel     int    // index into rules of the rule shown, -1 for none

	title, meta, desc, query *widget.Label
	show, edit, toggle, del  *widget.Button
	export, search           *widget.Button
	detail                   *fyne.Container // the rule shown
}

func newRulesView(v *caseView) *rulesView {
	rv := &rulesView{v: v, sel: -1}
	rv.table = newColumnTable(ruleColumns, func() int { return len(rv.rules) }, func(row int) (*store.Rule, bool) {
		if row < len(rv.rules) {
			return &rv.rules[row], true
		}
		return nil, false
	}, severityImportance)
	rv.table.OnSelected = func(id widget.TableCellID) { rv.showRule(id.Row) }
	rv.status = widget.NewLabel("")
	rv.status.Wrapping = fyne.TextWrapWord // errors and paths can be long
	newRule := widget.NewButtonWithIcon("New rule…", theme.ContentAddIcon(), func() {
		showRuleEditor(v, store.Rule{Severity: 5, Every: 60, Enabled: true})
	})
	runNow := widget.NewButtonWithIcon("Run now", theme.MediaPlayIcon(), func() { v.runRules(false) })
	importSigma := widget.NewButtonWithIcon("Import Sigma…", theme.FolderOpenIcon(), rv.chooseSigma)

	rv.title = widget.NewLabelWithStyle("Choose a rule", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	rv.title.Wrapping = fyne.TextWrapWord
	rv.meta = widget.NewLabel("")
	rv.meta.Wrapping = fyne.TextWrapWord
	rv.desc = widget.NewLabel("")
	rv.desc.Wrapping = fyne.TextWrapWord
	rv.query = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	rv.query.Wrapping = fyne.TextWrapBreak
	rv.show = widget.NewButtonWithIcon("Show matches", theme.SearchIcon(), func() {
		if r, ok := rv.current(); ok {
			v.investigate(app.MatchesQuery(r))
		}
	})
	// A burst rule matches fewer events than its query finds; tuning it needs them all.
	rv.search = widget.NewButtonWithIcon("Search its query", theme.SearchIcon(), func() {
		if r, ok := rv.current(); ok {
			v.investigate(r.Query)
		}
	})
	rv.edit = widget.NewButtonWithIcon("Edit…", theme.DocumentCreateIcon(), func() {
		if r, ok := rv.current(); ok {
			showRuleEditor(v, r)
		}
	})
	rv.toggle = widget.NewButton("Disable", func() {
		if r, ok := rv.current(); ok {
			r.Enabled = !r.Enabled
			rv.save(r)
		}
	})
	rv.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() {
		r, ok := rv.current()
		if !ok {
			return
		}
		dialog.ShowConfirm("Delete rule", fmt.Sprintf("Delete %q and its %s?", r.Name, counted(r.Matches, "match", "matches")), func(yes bool) {
			if !yes {
				return
			}
			v.wrote = true
			do(v, func(ctx context.Context) (struct{}, error) { return struct{}{}, v.c.DeleteRule(ctx, r.ID) }, func(_ struct{}, err error) {
				if err != nil {
					v.s.showError("delete rule", err)
					return
				}
				rv.sel = -1
				rv.load()
				v.overview.load()
			})
		}, v.s.win)
	})
	rv.export = widget.NewButtonWithIcon("Export Sigma…", theme.DocumentSaveIcon(), func() {
		if r, ok := rv.current(); ok {
			rv.exportSigma(r)
		}
	})
	rv.clearRule()

	rv.detail = container.NewVBox(rv.title, rv.meta, rv.desc, bold("Query"), rv.query,
		container.NewHBox(rv.show, rv.search, rv.edit), container.NewHBox(rv.toggle, rv.del, rv.export))
	head := container.NewBorder(nil, nil, widget.NewLabelWithStyle("Rules", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewHBox(importSigma, runNow, newRule), rv.status)
	split := container.NewHSplit(rv.table, container.NewVScroll(rv.detail))
	split.Offset = 0.65
	rv.content = container.NewBorder(head, nil, nil, nil, split)
	return rv
}

func (rv *rulesView) current() (store.Rule, bool) {
	if rv.sel < 0 || rv.sel >= len(rv.rules) {
		return store.Rule{}, false
	}
	return rv.rules[rv.sel], true
}

// load reads the rules again, keeping the one shown.
func (rv *rulesView) load() {
	keep := int64(0)
	if r, ok := rv.current(); ok {
		keep = r.ID
	}
	do(rv.v, func(ctx context.Context) ([]store.Rule, error) { return rv.v.c.Rules(ctx) }, func(rules []store.Rule, err error) {
		if err != nil {
			rv.status.SetText("Could not read the rules: " + err.Error())
			return
		}
		rv.rules = rules
		rv.table.Refresh()
		var on, matches int64
		var last time.Time
		rv.sel = -1
		for i, r := range rules {
			if r.Enabled {
				on++
			}
			matches += r.Matches
			if r.LastRun.After(last) {
				last = r.LastRun
			}
			if r.ID == keep {
				rv.sel = i
			}
		}
		text := fmt.Sprintf("%s, %d enabled · %s", counted(int64(len(rules)), "rule", "rules"), on, counted(matches, "match", "matches"))
		if !last.IsZero() {
			text += " · last run " + last.Local().Format("15:04:05")
		}
		if rv.note != "" {
			text = rv.note + " · " + text
		}
		rv.status.SetText(text)
		if rv.sel >= 0 {
			rv.showRule(rv.sel)
		} else {
			rv.clearRule()
		}
	})
}

func (rv *rulesView) showRule(i int) {
	if i < 0 || i >= len(rv.rules) {
		return
	}
	rv.sel = i
	r := rv.rules[i]
	rv.title.SetText(r.Name)
	meta := []string{fmt.Sprintf("severity %d (%s)", r.Severity, finding.Severity(r.Severity))}
	if r.Stage != "" {
		meta = append(meta, r.Stage)
	}
	if len(r.Tags) > 0 {
		meta = append(meta, "ATT&CK "+strings.Join(r.Tags, ", "))
	}
	if r.Label != "" {
		meta = append(meta, "label "+r.Label)
	}
	if r.Bursts() {
		meta = append(meta, "fires on "+app.BurstWords(r))
	}
	meta = append(meta, "every "+everyWords(r.Every), counted(r.Matches, "match", "matches"))
	if !r.Enabled {
		meta = append(meta, "disabled")
	}
	rv.meta.SetText(strings.Join(meta, " · "))
	rv.desc.SetText(r.Description)
	rv.query.SetText(r.Query)
	rv.toggle.SetText(map[bool]string{true: "Disable", false: "Enable"}[r.Enabled])
	for _, b := range []*widget.Button{rv.show, rv.search, rv.edit, rv.toggle, rv.del, rv.export} {
		b.Enable()
	}
	// Wrapped texts of another length: lay the details out again, or the next rule's
	// description runs over its query (seen going from a short one to a long one).
	rv.detail.Refresh()
}

func (rv *rulesView) clearRule() {
	rv.title.SetText("Choose a rule to see it; each event it matches is an indicator on the overview.")
	for _, l := range []*widget.Label{rv.meta, rv.desc, rv.query} {
		l.SetText("")
	}
	for _, b := range []*widget.Button{rv.show, rv.search, rv.edit, rv.toggle, rv.del, rv.export} {
		b.Disable()
	}
}

// chooseSigma asks for a Sigma rule file (AWS CloudTrail) and adds it.
func (rv *rulesView) chooseSigma() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		rv.importSigma(path)
	}, rv.v.s.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".yml", ".yaml"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importSigma adds the Sigma rule in path, runs it, and shows it; a rule that cannot be read
// says why, naming the file.
func (rv *rulesView) importSigma(path string) {
	v := rv.v
	v.wrote = true
	do(v, func(ctx context.Context) (store.Rule, error) { return v.c.ImportSigma(ctx, path) }, func(r store.Rule, err error) {
		if err != nil {
			v.s.showError("import", err)
			return
		}
		rv.note = fmt.Sprintf("Imported %q from %s", r.Name, filepath.Base(path))
		rv.sel = -1
		rv.load()
		v.runRules(false)
	})
}

// exportSigma asks where to write r as a Sigma rule.
func (rv *rulesView) exportSigma(r store.Rule) {
	out, err := app.ExportSigma(r)
	if err != nil {
		rv.v.s.showError("export "+r.Name, err)
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		_, werr := w.Write(out)
		if cerr := w.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			rv.v.s.showError("export "+r.Name, werr)
			return
		}
		rv.status.SetText(fmt.Sprintf("Exported %q to %s.", r.Name, w.URI().Path()))
	}, rv.v.s.win)
	d.SetFileName(app.SigmaFileName(r))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// save stores r and runs the rules, so that a new or changed rule shows its matches.
func (rv *rulesView) save(r store.Rule) {
	v := rv.v
	v.wrote = true
	do(v, func(ctx context.Context) (int64, error) { return v.c.SaveRule(ctx, r) }, func(_ int64, err error) {
		if err != nil {
			v.s.showError("save rule", err)
			return
		}
		rv.load()
		v.runRules(false)
	})
}

// showRuleEditor edits r (a new rule when its ID is 0) in a dialog; Save checks it first and
// says what is wrong, field by field.
func showRuleEditor(v *caseView, r store.Rule) {
	var d *dialog.CustomDialog
	hide := func() { d.Hide() }
	name := newEscEntry(false, hide)
	name.SetText(r.Name)
	desc := newEscEntry(true, hide)
	desc.Wrapping = fyne.TextWrapWord
	desc.SetMinRowsVisible(2)
	desc.SetText(r.Description)
	q := newEscEntry(true, hide)
	q.Wrapping = fyne.TextWrapWord
	q.SetMinRowsVisible(3)
	q.SetText(r.Query)
	stage := widget.NewSelect(append([]string{"(none)"}, finding.Stages...), nil)
	stage.SetSelected(r.Stage)
	if r.Stage == "" {
		stage.SetSelected("(none)")
	}
	sevs := make([]string, 10)
	for i := range sevs {
		sevs[i] = strconv.Itoa(i + 1)
	}
	sev := widget.NewSelect(sevs, nil)
	sev.SetSelected(strconv.Itoa(max(1, min(10, r.Severity))))
	var everyOpts []string
	for _, s := range schedules {
		everyOpts = append(everyOpts, s.words)
	}
	every := widget.NewSelect(everyOpts, nil)
	every.SetSelected(everyWords(r.Every))
	label := newEscEntry(false, hide)
	label.SetText(r.Label)
	tags := newEscEntry(false, hide)
	tags.SetPlaceHolder("T1562.008, T1078")
	tags.SetText(strings.Join(r.Tags, ", "))
	enabled := widget.NewCheck("Enabled", nil)
	enabled.SetChecked(r.Enabled)
	fires := newBurstEditor(r, hide)
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord

	form := widget.NewForm(
		widget.NewFormItem("Name", name),
		widget.NewFormItem("Description", desc),
		widget.NewFormItem("Query", q),
		widget.NewFormItem("Fires on", fires.content),
		widget.NewFormItem("Kill-chain stage", stage),
		widget.NewFormItem("Severity (1–10)", sev),
		widget.NewFormItem("Runs every", every),
		widget.NewFormItem("Label", label),
		widget.NewFormItem("ATT&CK tags", tags),
		widget.NewFormItem("", enabled),
	)
	title := "New rule"
	if r.ID != 0 {
		title = "Edit rule"
	}
	// read is the rule as the form has it; an error names what is wrong.
	read := func() (store.Rule, error) {
		out := r
		out.Name, out.Description, out.Query, out.Label = name.Text, desc.Text, q.Text, label.Text
		out.Stage = stage.Selected
		if out.Stage == "(none)" {
			out.Stage = ""
		}
		out.Severity, _ = strconv.Atoi(sev.Selected)
		for _, s := range schedules {
			if s.words == every.Selected {
				out.Every = s.minutes
			}
		}
		out.Tags = nil
		for _, t := range strings.Split(tags.Text, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out.Tags = append(out.Tags, t)
			}
		}
		out.Enabled = enabled.Checked
		return out, fires.read(&out)
	}
	say := func(text string, imp widget.Importance) {
		problem.Importance = imp
		problem.SetText(text)
	}
	// Test counts what the rule would match in this case, before it is kept: thresholds are
	// tried so.
	var trial int
	test := widget.NewButtonWithIcon("Test", theme.MediaPlayIcon(), func() {
		out, err := read()
		if err != nil {
			say(err.Error(), widget.DangerImportance)
			return
		}
		trial++
		n := trial
		say("Counting what it would match…", widget.MediumImportance)
		do(v, func(ctx context.Context) (int64, error) { return v.c.PreviewRule(ctx, out) }, func(matches int64, err error) {
			if n != trial {
				return // a later test is under way
			}
			if err != nil {
				say(err.Error(), widget.DangerImportance)
				return
			}
			say(fmt.Sprintf("It would match %s in this case.", counted(matches, "event", "events")), widget.MediumImportance)
		})
	})
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		out, err := read()
		if err == nil {
			err = app.ValidateRule(out)
		}
		if err != nil {
			say(err.Error(), widget.DangerImportance)
			return
		}
		v.wrote = true
		do(v, func(ctx context.Context) (int64, error) { return v.c.SaveRule(ctx, out) }, func(_ int64, err error) {
			if err != nil {
				say(err.Error(), widget.DangerImportance) // a name another rule has
				return
			}
			d.Hide()
			v.rules.load()
			v.runRules(false)
		})
	})
	save.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons(title, container.NewVBox(form, problem), v.s.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", d.Hide), test, save})
	d.Resize(fyne.NewSize(820, 600))
	v.trackDialog(d, nil)
	d.Show()
	v.s.win.Canvas().Focus(name)
}

// burstEditor is the editor's "Fires on" row: on each match, or on a burst of at least N
// matches (or distinct values of a field) within a window, counted per value of a field.
type burstEditor struct {
	content       fyne.CanvasObject
	mode          *widget.RadioGroup
	n, distinct   *escEntry
	window, group *widget.Select
	windows       []int // the window's choices, in minutes
	burstOnly     *fyne.Container
}

const (
	firesEach  = "each match"
	firesBurst = "a burst:"
	groupAll   = "all matches together"
)

func newBurstEditor(r store.Rule, esc func()) *burstEditor {
	b := &burstEditor{}
	b.n = newEscEntry(false, esc)
	b.n.SetText("5")
	b.windows = slices.Clone(burstWindows)
	if r.Bursts() && !slices.Contains(b.windows, r.Window) {
		b.windows = append(b.windows, r.Window) // an imported rule's own window stays a choice
	}
	var words []string
	for _, m := range b.windows {
		words = append(words, app.MinutesWords(m))
	}
	b.window = widget.NewSelect(words, nil)
	b.window.SetSelectedIndex(slices.Index(b.windows, 10))
	b.group = widget.NewSelect(append([]string{groupAll}, query.GroupFields...), nil)
	b.group.SetSelected(query.GroupFields[0])
	if r.Bursts() {
		b.n.SetText(strconv.Itoa(r.Threshold))
		b.window.SetSelectedIndex(slices.Index(b.windows, r.Window))
		b.group.SetSelected(groupAll)
		if r.GroupBy != "" {
			b.group.SetSelected(r.GroupBy)
		}
	}
	b.distinct = newEscEntry(false, esc)
	b.distinct.SetPlaceHolder("empty: count the matches; a field: count its different values")
	b.distinct.SetText(r.Distinct)
	b.burstOnly = container.NewVBox(
		container.NewHBox(container.NewGridWrap(fyne.NewSize(70, b.n.MinSize().Height), b.n), widget.NewLabel("or more within"), b.window),
		container.NewBorder(nil, nil, widget.NewLabel("counted by"), nil, b.group),
		container.NewBorder(nil, nil, widget.NewLabel("distinct values of"), nil, b.distinct))
	b.mode = widget.NewRadioGroup([]string{firesEach, firesBurst}, func(s string) {
		if s == firesBurst {
			b.burstOnly.Show()
		} else {
			b.burstOnly.Hide()
		}
	})
	b.mode.Horizontal = true
	b.mode.Required = true
	if r.Bursts() {
		b.mode.SetSelected(firesBurst)
	} else {
		b.mode.SetSelected(firesEach)
	}
	b.content = container.NewVBox(b.mode, b.burstOnly)
	return b
}

// read sets r's burst from the editor; an error names what is wrong.
func (b *burstEditor) read(r *store.Rule) error {
	r.Threshold, r.Window, r.GroupBy, r.Distinct = 0, 0, "", ""
	if b.mode.Selected != firesBurst {
		return nil
	}
	r.Distinct = strings.TrimSpace(b.distinct.Text)
	n, err := strconv.Atoi(strings.TrimSpace(b.n.Text))
	if err != nil || n < 2 {
		return fmt.Errorf("fires on: %q is no count of 2 or more", b.n.Text)
	}
	r.Threshold = n
	if i := b.window.SelectedIndex(); i >= 0 {
		r.Window = b.windows[i]
	}
	if b.group.Selected != groupAll {
		r.GroupBy = b.group.Selected
	}
	return nil
}
