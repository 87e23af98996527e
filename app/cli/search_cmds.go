package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// queryFlags are the time bounds of a command that selects events by a query.
type queryFlags struct{ since, until *string }

func addQueryFlags(f *flags) queryFlags {
	return queryFlags{
		since: f.String("since", "", "only events at or after this time (RFC 3339 or YYYY-MM-DD)"),
		until: f.String("until", "", "only events before this time (RFC 3339, or YYYY-MM-DD: that whole day)"),
	}
}

// open compiles the query in pos within the time bounds (a malformed one is a usage error) and
// opens the case, its full-text index completed for the query's words.
func (qf queryFlags) open(ctx context.Context, env Env, f *flags, pos []string) (*app.Case, store.Filter, error) {
	lo, err := parseTimeBound(*qf.since, false)
	if err != nil {
		return nil, store.Filter{}, err
	}
	hi, err := parseTimeBound(*qf.until, true)
	if err != nil {
		return nil, store.Filter{}, err
	}
	q := strings.Join(pos, " ")
	filter, err := app.Compile(q, lo, hi)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, store.Filter{}, usagef("query %q: %v", q, err)
		}
		return nil, store.Filter{}, err
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return nil, store.Filter{}, err
	}
	if err := completeSearchIndex(ctx, env, c); err != nil {
		c.Close()
		return nil, store.Filter{}, err
	}
	return c, filter, nil
}

func runSearch(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "search", true)
	qf := addQueryFlags(f)
	limit := f.Int("limit", 100, "at most this many events, newest first (0: all)")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 or more", *limit)
	}
	c, filter, err := qf.open(ctx, env, f, pos)
	if err != nil {
		return err
	}
	defer c.Close()
	if f.format == "json" {
		// The raw JSON of each event, one per line, streamed.
		return c.Search(ctx, filter, *limit, func(h store.Hit) error {
			_, err := fmt.Fprintf(env.Stdout, "%s\n", h.Raw)
			return err
		})
	}
	l := newListing(env.Stdout, f.format, app.SearchColumns...)
	err = c.Search(ctx, filter, *limit, func(h store.Hit) error { return l.row(nil, app.SearchRow(&h)...) })
	if err != nil {
		return err
	}
	return l.close()
}

// runCount counts the matches of a query, or with --by stacks them by a field's values: the
// commonest first, each with its share of the matches (the events without a value are
// reported on stderr, beside the totals).
func runCount(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "count", true)
	qf := addQueryFlags(f)
	by := f.String("by", "", "count the matches by the values of this field (userIdentity.arn, requestParameters.bucketName, …, or rule: the rules that matched them)")
	top := f.Int("top", 20, "with --by, at most this many values, commonest first (0: all)")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if *top < 0 {
		return usagef("--top %d: want 0 or more", *top)
	}
	if *by != "" && !query.IsField(*by) && !strings.EqualFold(*by, query.RuleField) {
		return usagef("--by %q: want a field, such as userIdentity.arn", *by)
	}
	c, filter, err := qf.open(ctx, env, f, pos)
	if err != nil {
		return err
	}
	defer c.Close()
	if *by == "" {
		n, err := c.Count(ctx, filter)
		if err != nil {
			return err
		}
		l := newListing(env.Stdout, f.format, "events")
		if err := l.row(map[string]int64{"events": n}, strconv.FormatInt(n, 10)); err != nil {
			return err
		}
		return l.close()
	}
	fc, err := c.CountValues(ctx, filter, *by, *top, nil)
	if err != nil {
		return err
	}
	l := newListing(env.Stdout, f.format, "value", "events", "share")
	for _, v := range fc.Values {
		share := float64(v.Events) / float64(max(fc.Events, 1))
		row := struct {
			Value  string  `json:"value"`
			Events int64   `json:"events"`
			Share  float64 `json:"share"`
		}{v.Value, v.Events, share}
		if err := l.row(row, v.Value, strconv.FormatInt(v.Events, 10), strconv.FormatFloat(share, 'f', 4, 64)); err != nil {
			return err
		}
	}
	if err := l.close(); err != nil {
		return err
	}
	note := ""
	if fc.Partial {
		note = " (too many to count them all: values first met past the limit were left out)"
	}
	fmt.Fprintf(env.Stderr, "%d events match; %d distinct values of %s%s; %d without one\n", fc.Events, fc.Distinct, *by, note, fc.Without)
	return nil
}

func runPivot(ctx context.Context, env Env, args []string) error {
	f := newFlags(env, "pivot", true)
	since := f.String("since", "", "only events at or after this time")
	until := f.String("until", "", "only events before this time")
	top := f.Int("top", 20, "entries per list")
	pos, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("pivot takes a kind (ip, principal, event or key) and a value")
	}
	kind, value := pos[0], pos[1]
	switch kind {
	case app.PivotIP, app.PivotPrincipal, app.PivotEvent, app.PivotKey:
	default:
		return usagef("pivot kind %q: want ip, principal, event or key", kind)
	}
	opt := store.PivotOptions{Top: *top}
	if opt.Since, err = parseTimeBound(*since, false); err != nil {
		return err
	}
	if opt.Until, err = parseTimeBound(*until, true); err != nil {
		return err
	}
	c, err := openCase(ctx, f.casePath, false)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.Pivot(ctx, kind, value, opt)
	if err != nil {
		return err
	}
	switch f.format {
	case "json":
		return newListing(env.Stdout, "json").row(p)
	case "csv":
		return pivotCSV(env.Stdout, p)
	}
	return pivotTable(env.Stdout, p)
}

// pivotCSV writes a profile as rows of section, value, events, success, failure.
func pivotCSV(w io.Writer, p *store.Profile) error {
	l := newListing(w, "csv", "section", "value", "events", "success", "failure")
	n := strconv.FormatInt
	rows := [][]string{
		{"summary", p.Kind + ":" + p.Value, n(p.Events, 10), n(p.Events-p.Failures, 10), n(p.Failures, 10)},
		{"first_seen", fmtTime(p.FirstSeen), "", "", ""},
		{"last_seen", fmtTime(p.LastSeen), "", "", ""},
	}
	for _, b := range p.Timeline {
		rows = append(rows, []string{"timeline", fmtTime(b.Start), n(b.Events, 10), "", ""})
	}
	add := func(section string, cs []store.Count) {
		for _, c := range cs {
			rows = append(rows, []string{section, c.Value, n(c.Events, 10), "", ""})
		}
	}
	add("principal", p.Principals)
	add("address", p.Addresses)
	add("identity", p.Identities)
	add("user_agent", p.UserAgents)
	add("region", p.Regions)
	for _, a := range p.APIs {
		rows = append(rows, []string{"api", a.EventSource + ":" + a.EventName, n(a.Success+a.Failure, 10), n(a.Success, 10), n(a.Failure, 10)})
	}
	for _, a := range p.NewAPIs {
		rows = append(rows, []string{"new_api", a.EventSource + ":" + a.EventName, n(a.Success+a.Failure, 10), n(a.Success, 10), n(a.Failure, 10)})
	}
	for _, r := range rows {
		if err := l.row(nil, r...); err != nil {
			return err
		}
	}
	return l.close()
}

func pivotTable(w io.Writer, p *store.Profile) error {
	fmt.Fprintf(w, "%s %s\n", p.Kind, p.Value)
	fmt.Fprintf(w, "  events      %d (%d failed)\n  first seen  %s\n  last seen   %s\n", p.Events, p.Failures,
		fmtTime(p.FirstSeen), fmtTime(p.LastSeen))
	section := func(title string, cs []store.Count) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		for _, c := range cs {
			fmt.Fprintf(w, "  %8d  %s\n", c.Events, c.Value)
		}
	}
	section("identities", p.Identities)
	section("principals", p.Principals)
	section("addresses", p.Addresses)
	if len(p.APIs) > 0 {
		fmt.Fprintf(w, "\nAPIs (success / failure)\n")
		for _, a := range p.APIs {
			fmt.Fprintf(w, "  %8d / %-6d %s %s\n", a.Success, a.Failure, a.EventSource, a.EventName)
		}
	}
	if len(p.NewAPIs) > 0 {
		fmt.Fprintf(w, "\nAPIs first used in the window\n")
		for _, a := range p.NewAPIs {
			fmt.Fprintf(w, "  %s %s (first %s)\n", a.EventSource, a.EventName, fmtTime(a.FirstSeen))
		}
	}
	section("user agents", p.UserAgents)
	section("regions", p.Regions)
	if len(p.Timeline) > 0 {
		fmt.Fprintf(w, "\ntimeline (%ds bins)\n", p.BinSeconds)
		for _, b := range p.Timeline {
			fmt.Fprintf(w, "  %s  %d\n", fmtTime(b.Start), b.Events)
		}
	}
	return nil
}

// completeSearchIndex finishes a full-text index that an interrupted load left behind, so that
// word searches see every event.
func completeSearchIndex(ctx context.Context, env Env, c *app.Case) error {
	line := statusLine{env: env}
	err := c.CompleteSearchIndex(ctx, func(done, pending int64) {
		line.show("indexing  %d / %d events for full-text search", done, pending)
	})
	line.end()
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	return nil
}
