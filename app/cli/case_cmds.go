package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/store"
)

func runIngest(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "ingest", true)
	var s3 app.S3Source
	f.StringVar(&s3.Profile, "profile", "", "AWS profile for s3:// sources (default credential chain when empty)")
	f.StringVar(&s3.Region, "region", "", "the bucket's AWS region for s3:// sources")
	f.StringVar(&s3.Endpoint, "endpoint", "", "an S3-compatible endpoint URL for s3:// sources")
	since := f.String("since", "", "s3:// sources: only log files from this day or time (RFC 3339 or YYYY-MM-DD)")
	until := f.String("until", "", "s3:// sources: only log files up to this day or time")
	var accounts, regions stringList
	f.Var(&accounts, "account", "s3:// sources: only this account (repeatable)")
	f.Var(&regions, "trail-region", "s3:// sources: only this CloudTrail region (repeatable)")
	paths, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("give at least one file, folder, archive or s3://bucket/prefix to load")
	}
	if s3.From, err = parseTimeBound(*since, false); err != nil {
		return err
	}
	if s3.To, err = parseTimeBound(*until, true); err != nil {
		return err
	}
	s3.Accounts, s3.Regions = accounts, regions
	c, err := openCase(ctx, f.casePath, true)
	if err != nil {
		return err
	}
	defer c.Close()
	if demo, err := c.IsDemo(ctx); err != nil {
		return err
	} else if demo {
		fmt.Fprintf(env.Stderr, "note: %s is a demo case: what this loads sits beside its generated events, and the case stays marked as demo data\n", f.casePath)
	}
	bar := newProgressBar(env)
	sum, err := c.IngestSources(ctx, paths, s3, bar.update)
	bar.finish()
	if err != nil && ctx.Err() != nil {
		// Interrupted: say what stays, and how to go on.
		return fmt.Errorf("interrupted: the %d events committed before stay in the case; the same command again loads the rest", sum.Added)
	}
	if err != nil {
		return err
	}
	if err := printSummary(env.Stdout, f.format, sum); err != nil {
		return err
	}
	if sum.Files() == 0 {
		fmt.Fprintf(env.Stderr, "nothing loaded: no file found in %s", strings.Join(paths, ", "))
		if slices.ContainsFunc(paths, app.IsS3) && (!s3.From.IsZero() || !s3.To.IsZero() || len(s3.Accounts) > 0 || len(s3.Regions) > 0) {
			fmt.Fprint(env.Stderr, " for the days, accounts and CloudTrail regions asked for")
		}
		fmt.Fprintln(env.Stderr)
	}
	if sum.Digests > 0 {
		fmt.Fprintf(env.Stderr, "%s loaded: trailscope verify --case %s checks the log files against them\n",
			app.Counted(sum.Digests, "CloudTrail digest file", "CloudTrail digest files"), f.casePath)
	}
	if len(sum.Failed) > 0 {
		return partialError{fmt.Sprintf("%d input(s) failed", len(sum.Failed))}
	}
	return nil
}

// runFiles lists the files the case was loaded from: for an auditor, the record of what was
// read, its hash, and why a file was skipped or failed.
func runFiles(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "files", true)
	status := f.String("status", "", "only files with this status: loaded, skipped or failed")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("files takes no arguments (got %q)", pos[0])
	}
	switch *status {
	case "", store.FileLoaded, store.FileSkipped, store.FileFailed:
	default:
		return usagef("--status %q: want loaded, skipped or failed", *status)
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	l := newListing(env.Stdout, f.format, app.FileColumns...)
	err = c.Files(ctx, *status, func(fr store.FileRecord) error {
		row := app.FileRow(&fr)
		obj := make(map[string]any, len(row))
		for i, col := range app.FileColumns {
			obj[col] = row[i]
		}
		obj["events"], obj["added"], obj["plain_bytes"] = fr.Events, fr.Added, fr.Size
		return l.row(obj, row...)
	})
	if err != nil {
		return err
	}
	return l.close()
}

// runVerify checks the case's files against its CloudTrail digests: the problems found (all
// checks with --all) as a listing, the summary on stderr, exit code 3 when a file was changed,
// is missing or is listed by no digest.
func runVerify(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "verify", true)
	all := f.Bool("all", false, "list every check, the valid ones too, in the order they are made")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("verify takes no arguments (got %q)", pos[0])
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	l := newListing(env.Stdout, f.format, app.IntegrityColumns...)
	write := func(ch app.IntegrityCheck) error {
		row := ch.Row()
		obj := make(map[string]any, len(row))
		for i, col := range app.IntegrityColumns {
			obj[col] = row[i]
		}
		return l.row(obj, row...)
	}
	var each func(app.IntegrityCheck) error
	if *all {
		each = write // every check as it is made, rather than millions held
	}
	rep, err := c.CheckIntegrity(ctx, each)
	if err != nil {
		return err
	}
	if !*all {
		for _, ch := range rep.Checks { // the problems, the worst first
			if err := write(ch); err != nil {
				return err
			}
		}
	}
	if err := l.close(); err != nil {
		return err
	}
	fmt.Fprintln(env.Stderr, rep.Summary())
	if n := rep.Problems(); n > 0 {
		return partialError{fmt.Sprintf("%d file(s) fail the check against the digests", n)}
	}
	return nil
}

// statusLine redraws one line of progress in place on a terminal's stderr, and shows nothing
// when stderr is not a terminal.
type statusLine struct {
	env  Env
	drew bool
}

func (l *statusLine) show(format string, args ...any) {
	if l.env.StderrTTY {
		fmt.Fprintf(l.env.Stderr, "\r\033[K"+format, args...)
		l.drew = true
	}
}

// end moves past the line, if one was drawn.
func (l *statusLine) end() {
	if l.drew {
		fmt.Fprintln(l.env.Stderr)
	}
}

// progressBar draws ingest progress on stderr: redrawn in place on a terminal, a line every few
// seconds otherwise.
type progressBar struct {
	env  Env
	last time.Time
	line statusLine
}

func newProgressBar(env Env) *progressBar { return &progressBar{env: env, line: statusLine{env: env}} }

func (b *progressBar) update(p ingest.Progress) {
	now := b.env.Now()
	if !b.env.StderrTTY && now.Sub(b.last) < 5*time.Second && p.Phase != "done" {
		return
	}
	b.last = now
	var line string
	switch p.Phase {
	case ingest.PhaseListing:
		line = fmt.Sprintf("listing   %d files found (%s)", p.FilesTotal, app.ByteSize(p.BytesTotal))
	case "sorting":
		line = fmt.Sprintf("sorting   %d events into the column indexes", p.Added)
	case "indexing":
		line = fmt.Sprintf("indexing  %d / %d events for full-text search", p.Indexed, p.IndexTotal())
	default:
		frac := 0.0
		if p.BytesTotal > 0 {
			frac = float64(p.BytesRead) / float64(p.BytesTotal)
		}
		if frac > 1 {
			frac = 1
		}
		const width = 24
		n := int(frac * width)
		line = fmt.Sprintf("[%s%s] %3.0f%%  files %d/%d  events %d  %s/%s  %.0f ev/s  errors %d",
			strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, p.FilesDone, p.FilesTotal,
			p.Events, app.ByteSize(p.BytesRead), app.ByteSize(p.BytesTotal), p.Rate(), p.Failed)
	}
	if b.env.StderrTTY {
		b.line.show("%s", line)
	} else {
		fmt.Fprintln(b.env.Stderr, line)
	}
}

func (b *progressBar) finish() { b.line.end() }

type summaryJSON struct {
	Added       int64               `json:"added"`
	Duplicates  int64               `json:"duplicates"`
	Insights    int64               `json:"insights"`
	Digests     int64               `json:"digests"`
	FilesLoaded int                 `json:"files_loaded"`
	Skipped     []ingest.FileResult `json:"skipped"`
	Failed      []ingest.FileResult `json:"failed"`
	Seconds     float64             `json:"seconds"`
	IndexSecs   float64             `json:"index_seconds"`
	StoredSecs  float64             `json:"stored_seconds"` // of seconds, until every event was committed
}

func printSummary(w io.Writer, format string, s ingest.Summary) error {
	if s.Skipped == nil {
		s.Skipped = []ingest.FileResult{}
	}
	if s.Failed == nil {
		s.Failed = []ingest.FileResult{}
	}
	switch format {
	case "json", "csv":
		if format == "csv" {
			l := newListing(w, "csv", "kind", "path", "entry", "reason", "count")
			rows := [][]string{
				{"added", "", "", "", strconv.FormatInt(s.Added, 10)},
				{"duplicates", "", "", "", strconv.FormatInt(s.Duplicates, 10)},
				{"files_loaded", "", "", "", strconv.Itoa(s.Loaded)},
			}
			for _, f := range s.Skipped {
				rows = append(rows, []string{"skipped", f.Path, f.Entry, f.Reason, "1"})
			}
			for _, f := range s.Failed {
				rows = append(rows, []string{"failed", f.Path, f.Entry, f.Reason, strconv.FormatInt(f.Events, 10)})
			}
			for _, r := range rows {
				if err := l.row(nil, r...); err != nil {
					return err
				}
			}
			return l.close()
		}
		l := newListing(w, "json")
		return l.row(summaryJSON{s.Added, s.Duplicates, s.Insights, s.Digests, s.Loaded, s.Skipped, s.Failed,
			s.LoadTime.Seconds(), s.IndexTime.Seconds(), s.StoredTime.Seconds()})
	}
	fmt.Fprintf(w, "added       %d events\n", s.Added)
	fmt.Fprintf(w, "duplicates  %d events already in the case\n", s.Duplicates)
	if s.Insights > 0 || s.Digests > 0 {
		fmt.Fprintf(w, "insights    %d   digests %d\n", s.Insights, s.Digests)
	}
	fmt.Fprintf(w, "loaded      %d files\n", s.Loaded)
	fmt.Fprintf(w, "skipped     %d files (not CloudTrail)\n", len(s.Skipped))
	for _, f := range s.Skipped {
		fmt.Fprintf(w, "  %s: %s\n", where(f), f.Reason)
	}
	fmt.Fprintf(w, "failed      %d files\n", len(s.Failed))
	for _, f := range s.Failed {
		kept := ""
		if f.Events > 0 {
			kept = fmt.Sprintf(" (%d events before the break kept)", f.Events)
		}
		fmt.Fprintf(w, "  %s: %s%s\n", where(f), f.Reason, kept)
	}
	fmt.Fprintf(w, "time        %.1fs load, %.1fs full-text index\n", s.LoadTime.Seconds(), s.IndexTime.Seconds())
	return nil
}

func where(f ingest.FileResult) string {
	if f.Entry != "" {
		return f.Path + "!" + f.Entry
	}
	return f.Path
}

func runInfo(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "info", true)
	if _, err := f.parse(env, args); err != nil {
		return err
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	in, err := c.Info(ctx)
	if err != nil {
		return err
	}
	return printInfo(env.Stdout, f.format, in)
}

func printInfo(w io.Writer, format string, in store.Info) error {
	first, last := "", ""
	if in.FirstEvent != nil {
		first, last = fmtTime(*in.FirstEvent), fmtTime(*in.LastEvent)
	}
	keys := []string{"events", "first_event", "last_event", "accounts", "regions", "event_sources",
		"files_loaded", "files_skipped", "files_failed"}
	vals := []string{strconv.FormatInt(in.Events, 10), first, last, joinList(in.Accounts), joinList(in.Regions),
		joinList(in.EventSources), strconv.FormatInt(in.FilesLoaded, 10), strconv.FormatInt(in.FilesSkipped, 10),
		strconv.FormatInt(in.FilesFailed, 10)}
	switch format {
	case "json":
		return newListing(w, "json").row(in)
	case "csv":
		l := newListing(w, "csv", keys...)
		if err := l.row(nil, vals...); err != nil {
			return err
		}
		return l.close()
	}
	for i, k := range keys {
		fmt.Fprintf(w, "%-14s %s\n", k, vals[i])
	}
	return nil
}

func runConfig(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "config", true)
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) > 2 {
		return usagef("config takes at most KEY and VALUE")
	}
	c, err := openCase(ctx, f.casePath, true)
	if err != nil {
		return err
	}
	defer c.Close()
	if len(pos) == 2 {
		if err := c.SetSetting(ctx, pos[0], pos[1]); err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(env.Stderr, "%s set; directions reclassified where it applies\n", pos[0])
		return nil
	}
	l := newListing(env.Stdout, f.format, "key", "value", "help")
	for _, s := range app.KnownSettings() {
		if len(pos) == 1 && pos[0] != s.Key {
			continue
		}
		v, err := c.Setting(ctx, s.Key)
		if err != nil {
			return err
		}
		if err := l.row(map[string]string{"key": s.Key, "value": v, "help": s.Help}, s.Key, v, s.Help); err != nil {
			return err
		}
	}
	if len(pos) == 1 {
		found := false
		for _, s := range app.KnownSettings() {
			found = found || s.Key == pos[0]
		}
		if !found {
			return usagef("unknown setting %q", pos[0])
		}
	}
	return l.close()
}
