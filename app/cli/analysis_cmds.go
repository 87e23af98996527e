package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

func validDirection(d string) error {
	switch d {
	case "", cloudtrail.Inbound, cloudtrail.Internal, cloudtrail.Outbound:
		return nil
	}
	return usagef("--direction %q: want inbound, internal or outbound", d)
}

// analyse brings the stored analysis up to date, reporting progress on stderr.
func analyse(ctx context.Context, env Env, c *app.Case, rebuild bool) error {
	need, err := c.NeedsAnalysis(ctx)
	if err != nil {
		return err
	}
	if !need && !rebuild {
		return nil
	}
	line := statusLine{env: env}
	err = c.Analyze(ctx, rebuild, func(done, total int64) { line.show("analysing %d / %d events", done, total) })
	line.end()
	if err != nil {
		return fmt.Errorf("analyse: %w", err)
	}
	notes, _ := c.AnalysisNotes(ctx)
	for _, n := range notes {
		fmt.Fprintf(env.Stderr, "note: %s\n", n)
	}
	return nil
}

// openAnalysed opens an existing case for a command that lists analysis results, bringing the
// analysis up to date first.
func openAnalysed(ctx context.Context, env Env, path string) (*app.Case, error) {
	c, err := openCase(ctx, path, false)
	if err != nil {
		return nil, err
	}
	if err := analyse(ctx, env, c, false); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func runAnalyze(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "analyze", false)
	rebuild := f.Bool("rebuild", false, "recompute everything, even when the results are up to date")
	if _, err := f.parse(env, args); err != nil {
		return err
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := analyse(ctx, env, c, *rebuild); err != nil {
		return err
	}
	as, err := c.Anomalies(ctx, store.AnomalyFilter{})
	if err != nil {
		return err
	}
	var byRisk [11]int
	for _, a := range as {
		if a.Risk >= 1 && a.Risk <= 10 {
			byRisk[a.Risk]++
		}
	}
	fmt.Fprintf(env.Stderr, "%d anomalies; by risk 10..1:", len(as))
	for r := 10; r >= 1; r-- {
		fmt.Fprintf(env.Stderr, " %d", byRisk[r])
	}
	fmt.Fprintln(env.Stderr)
	return nil
}

func runAnomalies(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "anomalies", true)
	minRisk := f.Int("min-risk", 1, "only anomalies at this risk or higher (1-10)")
	dir := f.String("direction", "", "only inbound, internal or outbound")
	limit := f.Int("limit", 0, "at most this many (0: all)")
	verdict := f.String("verdict", "", "only anomalies with this verdict: "+strings.Join(finding.Verdicts, ", ")+", or "+app.NoVerdict+" (not reviewed)")
	if _, err := f.parse(env, args); err != nil {
		return err
	}
	if *minRisk < 1 || *minRisk > 10 {
		return usagef("--min-risk %d: want 1 to 10", *minRisk)
	}
	if *verdict != "" && *verdict != app.NoVerdict && !slices.Contains(finding.Verdicts, *verdict) {
		return usagef("--verdict %q: want %s or %s", *verdict, strings.Join(finding.Verdicts, ", "), app.NoVerdict)
	}
	if err := validDirection(*dir); err != nil {
		return err
	}
	c, err := openAnalysed(ctx, env, f.casePath)
	if err != nil {
		return err
	}
	defer c.Close()
	filter := store.AnomalyFilter{MinRisk: *minRisk, Direction: *dir, Limit: *limit}
	if *verdict != "" {
		filter.Limit = 0 // the verdict is checked after reading, and the limit after it
	}
	as, err := c.Anomalies(ctx, filter)
	if err != nil {
		return err
	}
	l := newListing(env.Stdout, f.format, app.AnomalyColumns...)
	n := 0
	for _, a := range as {
		if *verdict != "" && a.Verdict != strings.TrimPrefix(*verdict, app.NoVerdict) {
			continue
		}
		if *limit > 0 && n == *limit {
			break
		}
		n++
		if err := l.row(a, app.AnomalyRow(&a)...); err != nil {
			return err
		}
	}
	return l.close()
}

// runTriage records an analyst's verdict on an anomaly, with a note; anomalies lists it, and
// it outlives the analysis running again.
func runTriage(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "triage", false)
	note := f.String("note", "", "a note on the verdict: what was found, a ticket")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("triage takes an anomaly's id and a verdict (%s or %s)", strings.Join(finding.Verdicts, ", "), app.NoVerdict)
	}
	id, verdict := pos[0], pos[1]
	if verdict != app.NoVerdict && !slices.Contains(finding.Verdicts, verdict) {
		return usagef("verdict %q: want %s or %s", verdict, strings.Join(finding.Verdicts, ", "), app.NoVerdict)
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SetVerdict(ctx, id, verdict, *note)
}

func runSeries(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "series", true)
	dir := f.String("direction", "", "only inbound, internal or outbound")
	if _, err := f.parse(env, args); err != nil {
		return err
	}
	if err := validDirection(*dir); err != nil {
		return err
	}
	c, err := openAnalysed(ctx, env, f.casePath)
	if err != nil {
		return err
	}
	defer c.Close()
	pts, err := c.Series(ctx, *dir, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	l := newListing(env.Stdout, f.format, "direction", "bin_start", "observed", "expected", "lower", "upper")
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, p := range pts {
		if err := l.row(p, p.Direction, fmtTime(p.BinStart), num(p.Observed), num(p.Expected), num(p.Lower), num(p.Upper)); err != nil {
			return err
		}
	}
	return l.close()
}

// runRules gives the case the built-in rules it lacks, runs every enabled rule over the events
// that arrived since it last ran (after the full-text index is complete, which words need), and
// lists the rules with their matches, highest severity first.
func runRules(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "rules", true)
	imp := f.Bool("import", false, "first add the Sigma rules (AWS CloudTrail) in the files named after the flags")
	exp := f.String("export", "", "write every rule as a Sigma rule into this folder")
	files, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(files) > 0 && !*imp {
		return usagef("files named without --import: %s", strings.Join(files, " "))
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	var failed []string
	for _, p := range files {
		if _, err := c.ImportSigma(ctx, p); err != nil {
			fmt.Fprintf(env.Stderr, "import %v\n", err)
			failed = append(failed, p)
		}
	}
	if err := completeSearchIndex(ctx, env, c); err != nil {
		return err
	}
	if err := c.InstallRules(ctx); err != nil {
		return err
	}
	if _, err := c.RunRules(ctx, time.Now(), false); err != nil {
		return err
	}
	rules, err := c.Rules(ctx)
	if err != nil {
		return err
	}
	if *exp != "" {
		if err := exportSigma(*exp, rules); err != nil {
			return err
		}
	}
	// A burst rule's count, window, group and distinct field come last: columns are only ever added.
	l := newListing(env.Stdout, f.format, "name", "severity", "stage", "label", "tags", "every_minutes", "enabled", "matches", "query",
		"threshold", "window_minutes", "group_by", "distinct_field")
	for _, r := range rules {
		if err := l.row(r, r.Name, strconv.Itoa(r.Severity), r.Stage, r.Label, strings.Join(r.Tags, ","), strconv.Itoa(r.Every),
			strconv.FormatBool(r.Enabled), strconv.FormatInt(r.Matches, 10), r.Query,
			strconv.Itoa(r.Threshold), strconv.Itoa(r.Window), r.GroupBy, r.Distinct); err != nil {
			return err
		}
	}
	if err := l.close(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return partialError{fmt.Sprintf("%d of %d Sigma files not imported", len(failed), len(files))}
	}
	return nil
}

// exportSigma writes each rule into dir as a Sigma file named after it.
func exportSigma(dir string, rules []store.Rule) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, r := range rules {
		out, err := app.ExportSigma(r)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, app.SigmaFileName(r))
		if err := os.WriteFile(p, out, 0o644); err != nil {
			return fmt.Errorf("export %s: %w", p, err)
		}
	}
	return nil
}

// runReport writes the case's report in Markdown, to stdout or to a file (0600, whole or not
// at all). It analyses first when the case has new data, as anomalies does.
func runReport(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "report", false)
	out := f.String("out", "", "write the report to this file instead of stdout")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("report takes no arguments (got %q)", pos[0])
	}
	c, err := openAnalysed(ctx, env, f.casePath)
	if err != nil {
		return err
	}
	defer c.Close()
	if *out != "" {
		return c.ExportReport(ctx, *out, env.Now())
	}
	return c.Report(ctx, env.Stdout, env.Now())
}
