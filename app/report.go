package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// Bounds on what a report lists; past them it says how many more there are and which command
// lists them all.
const (
	reportOpen  = 50   // anomalies at risk 7 and up without a verdict
	reportFiles = 2000 // files with their hashes
)

// Report writes a report of the case in Markdown to w, for a hand-over or an audit file: what
// was examined (events, their span, accounts and regions, and every file read with its
// SHA-256), what the analysts concluded (the anomalies with a verdict, and their notes), what
// still waits (the riskiest anomalies nobody has reviewed), and what the rules matched.
// Everything in it comes from the case; now dates it.
func (c *Case) Report(ctx context.Context, w io.Writer, now time.Time) error {
	b := bufio.NewWriter(w)
	in, err := c.Info(ctx)
	if err != nil {
		return err
	}
	as, err := c.Anomalies(ctx, store.AnomalyFilter{})
	if err != nil {
		return err
	}
	hits, err := c.Indicators(ctx, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	demo, err := c.DemoNote(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(b, "# Trailscope report: %s\n\n", mdText(filepath.Base(c.Path())))
	fmt.Fprintf(b, "Written %s UTC from the case file `%s`.\n\n", now.UTC().Format("2006-01-02 15:04"), mdCode(c.Path()))
	if demo != "" {
		fmt.Fprintf(b, "> %s\n\n", mdText(demo))
	}

	b.WriteString("## What was examined\n\n")
	span := "no events"
	if in.FirstEvent != nil {
		span = fmt.Sprintf("from %s to %s UTC", in.FirstEvent.UTC().Format("2006-01-02 15:04:05"), in.LastEvent.UTC().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintf(b, "- %d CloudTrail events, %s\n", in.Events, span)
	fmt.Fprintf(b, "- %d accounts: %s\n", len(in.Accounts), mdText(strings.Join(in.Accounts, ", ")))
	fmt.Fprintf(b, "- %d regions: %s\n", len(in.Regions), mdText(strings.Join(in.Regions, ", ")))
	fmt.Fprintf(b, "- %d AWS services called\n", len(in.EventSources))
	fmt.Fprintf(b, "- files: %d loaded, %d skipped (not CloudTrail, or empty), %d failed; %d Insights events, %d digest files\n\n",
		in.FilesLoaded, in.FilesSkipped, in.FilesFailed, in.Insights, in.Digests)

	verdicts := map[string][]finding.Anomaly{}
	var open []finding.Anomaly
	for _, a := range as {
		if a.Verdict != "" {
			verdicts[a.Verdict] = append(verdicts[a.Verdict], a)
		} else if a.Risk >= 7 {
			open = append(open, a)
		}
	}
	b.WriteString("## Verdicts\n\n")
	if len(verdicts) == 0 {
		b.WriteString("No anomaly has a verdict yet.\n\n")
	}
	for i := len(finding.Verdicts) - 1; i >= 0; i-- { // the most serious first
		v := finding.Verdicts[i]
		if len(verdicts[v]) == 0 {
			continue
		}
		fmt.Fprintf(b, "### %s (%d)\n\n", finding.VerdictText(v), len(verdicts[v]))
		anomalyTable(b, verdicts[v], true)
	}

	fmt.Fprintf(b, "## Not reviewed, risk 7 and up (%d)\n\n", len(open))
	if len(open) == 0 {
		b.WriteString("None: every anomaly at risk 7 or higher has a verdict.\n\n")
	} else {
		anomalyTable(b, open[:min(len(open), reportOpen)], false)
		if len(open) > reportOpen {
			fmt.Fprintf(b, "… and %d more: `trailscope anomalies --case FILE --min-risk 7 --verdict none` lists them all.\n\n", len(open)-reportOpen)
		}
	}

	b.WriteString("## Rule matches\n\n")
	if len(hits) == 0 {
		b.WriteString("No rule matched an event.\n\n")
	} else {
		b.WriteString("| Severity | Rule | Stage | Events |\n|---|---|---|---|\n")
		for _, h := range hits {
			fmt.Fprintf(b, "| %d %s | %s | %s | %d |\n", h.Rule.Severity, finding.Severity(h.Rule.Severity), mdText(h.Rule.Name), mdText(h.Rule.Stage), h.Events)
		}
		b.WriteString("\n")
	}

	if err := c.reportIntegrity(ctx, b); err != nil {
		return err
	}
	if err := c.reportFiles(ctx, b); err != nil {
		return err
	}

	b.WriteString("## How to read this report\n\n" +
		"Trailscope learns what is normal for each principal, address and API of the case and for the account as a whole, " +
		"and marks the 5-minute windows that depart from it as anomalies, with a risk from 1 (barely unusual) to 10 (critical) " +
		"and the factors that make them stand out. Inbound means calls into the account from outside addresses, internal " +
		"calls by AWS services, from private addresses or trusted networks, outbound data or access leaving the account. " +
		"Rules are saved queries: each event one matches is an indicator. Verdicts and notes are the analysts' own. " +
		"A file's SHA-256 is of the file as it is kept (its gzip included): `sha256sum` of the file gives it.\n")
	return b.Flush()
}

// reportIntegrity writes the files checked against the case's CloudTrail digests: the summary,
// and those that fail the check.
func (c *Case) reportIntegrity(ctx context.Context, b *bufio.Writer) error {
	rep, err := c.CheckIntegrity(ctx, nil)
	if err != nil {
		return err
	}
	b.WriteString("## Integrity against the CloudTrail digests\n\n" + mdText(rep.Summary()) + "\n\n")
	var failed []IntegrityCheck
	for _, ch := range rep.Checks {
		if ch.Status != IntegrityUnhashed && ch.Status != IntegrityNoKey {
			failed = append(failed, ch)
		}
	}
	if len(failed) > 0 {
		b.WriteString("| Status | Kind | File CloudTrail delivered | File read | Listed by digest |\n|---|---|---|---|---|\n")
		for _, ch := range failed[:min(len(failed), reportFiles)] {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", ch.Status, ch.Kind, mdText(ch.Object), mdText(ch.File), mdText(ch.Digest))
		}
		if len(failed) > reportFiles {
			fmt.Fprintf(b, "\n… and %d more: `trailscope verify --case FILE` lists them all.\n", len(failed)-reportFiles)
		}
		b.WriteString("\n")
	}
	if rep.Digests > 0 {
		b.WriteString("Modified: the file's plain content hashes otherwise than its digest says. Missing: a digest lists it " +
			"and the case never read it. Ended: the last digest of a chain that stops hours before the other chains, or " +
			"its region's log files, do: the newest hours deleted (digests and logs alike break no link), or validation " +
			"turned off. Unlisted: a log file in hours the digests cover that none lists (slipped in, or " +
			"written to the same folder by another trail without validation). A signature is " +
			"checked for digests loaded from S3 (kept from their metadata, against CloudTrail's public keys); files read " +
			"from disk carry none.\n\n")
	}
	return nil
}

// reportFiles writes the files read: those not loaded with why, then every file with its
// hash (read once: the full table is held until the files not loaded are written).
func (c *Case) reportFiles(ctx context.Context, b *bufio.Writer) error {
	var notLoaded []store.FileRecord
	var all strings.Builder
	n := 0
	err := c.Files(ctx, "", func(f store.FileRecord) error {
		if f.Status != store.FileLoaded {
			notLoaded = append(notLoaded, f)
		}
		if n++; n <= reportFiles {
			fmt.Fprintf(&all, "| %s | %s | %d | `%s` |\n", mdText(f.Name()), f.Status, f.Events, f.SHA256)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.WriteString("## Files\n\n")
	if len(notLoaded) > 0 {
		b.WriteString("Not loaded:\n\n| Status | File | Reason |\n|---|---|---|\n")
		for _, f := range notLoaded {
			fmt.Fprintf(b, "| %s | %s | %s |\n", f.Status, mdText(f.Name()), mdText(f.Reason))
		}
		b.WriteString("\n")
	}
	b.WriteString("Every file read:\n\n| File | Status | Events | SHA-256 |\n|---|---|---|---|\n")
	b.WriteString(all.String())
	if n > reportFiles {
		fmt.Fprintf(b, "\n… and %d more: `trailscope files --case FILE` lists them all.\n", n-reportFiles)
	}
	b.WriteString("\n")
	return nil
}

// anomalyTable writes anomalies as a Markdown table, with their notes when withNote; the id
// opens one in the app (Go ▸ Anomaly by id, Ctrl+G) or names it to trailscope triage.
func anomalyTable(b *bufio.Writer, as []finding.Anomaly, withNote bool) {
	head, rule := "| Risk | Window (UTC) | Direction | Entity | Anomaly | Id |", "|---|---|---|---|---|---|"
	if withNote {
		head, rule = head+" Note |", rule+"---|"
	}
	b.WriteString(head + "\n" + rule + "\n")
	for _, a := range as {
		fmt.Fprintf(b, "| %d | %s – %s | %s | %s %s | %s | `%s` |", a.Risk, a.WindowStart.UTC().Format("2006-01-02 15:04"),
			a.WindowEnd.UTC().Format("15:04"), a.Direction, a.EntityType, mdText(a.Entity), mdText(a.Title), mdCode(a.ID))
		if withNote {
			fmt.Fprintf(b, " %s |", mdText(a.Note))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// mdText makes text from the case safe in a Markdown table cell or line: one line, and the
// characters Markdown would read as emphasis, links, HTML or cells escaped, so a value in a
// log (a user agent, a note) cannot change the report's layout or slip a link into it.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var out strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~", r) {
			out.WriteByte('\\')
		}
		out.WriteRune(r)
	}
	return out.String()
}

// mdCode makes text safe inside a Markdown code span.
func mdCode(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}

// ExportReport writes the case's report (Report) to path, whole or not at all, readable by its
// owner only: as an HTML page when path ends in .html or .htm (for an auditor's file or a
// browser's print), else as Markdown.
func (c *Case) ExportReport(ctx context.Context, path string, now time.Time) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".html" && ext != ".htm" {
		return writeWhole(path, func(w io.Writer) error { return c.Report(ctx, w, now) })
	}
	var md bytes.Buffer
	if err := c.Report(ctx, &md, now); err != nil {
		return err
	}
	return writeWhole(path, func(w io.Writer) error { return reportHTML(w, md.Bytes(), filepath.Base(c.Path())) })
}

// reportHTML renders the report's Markdown as a page of its own. goldmark (already in the build
// through Fyne) renders tables as GitHub does and, left at its default, drops any raw HTML, so
// text from the case (escaped for Markdown by mdText) cannot turn into markup.
func reportHTML(w io.Writer, md []byte, title string) error {
	var body bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.Table)).Convert(md, &body); err != nil {
		return fmt.Errorf("render the report: %w", err)
	}
	_, err := fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Trailscope report: %s</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em; color: #1b1f24; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 13px; width: 100%%; }
th, td { border: 1px solid #c9cfd6; padding: .25em .5em; text-align: left; vertical-align: top; overflow-wrap: anywhere; min-width: 5.5em; }
th { background: #eef1f4; }
code { font-size: 12px; overflow-wrap: anywhere; }
td code { overflow-wrap: normal; }
blockquote { border-left: 4px solid #e8a33d; margin: 0; padding: .25em 1em; background: #fff7e8; }
</style></head><body>
%s</body></html>
`, html.EscapeString(title), body.Bytes())
	return err
}
