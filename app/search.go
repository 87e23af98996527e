package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// Compile parses a query of the investigator's language and compiles it to a store filter. A
// malformed query gives a *query.Error with its position.
func Compile(q string, since, until time.Time) (store.Filter, error) {
	e, err := query.Parse(q)
	if err != nil {
		return store.Filter{}, err
	}
	where, args, err := query.Compile(e)
	if err != nil {
		return store.Filter{}, err
	}
	return store.Filter{Where: where, Args: args, Since: since, Until: until}, nil
}

// CompleteSearchIndex adds the events it lacks to the full-text index, reporting how many of
// pending are done, from 0 when there are some (progress is not called when there are none);
// it resumes where an interrupted build stopped.
func (c *Case) CompleteSearchIndex(ctx context.Context, progress func(done, pending int64)) error {
	pending, err := c.st.FTSPending(ctx)
	if err != nil || pending == 0 {
		return err
	}
	progress(0, pending)
	return c.st.BuildFTS(ctx, func(done int64) { progress(done, pending) })
}

// Search streams the events matching f to fn, newest first (ties by eventID); limit 0 means all.
func (c *Case) Search(ctx context.Context, f store.Filter, limit int, fn func(store.Hit) error) error {
	return c.st.Search(ctx, f, limit, fn)
}

// NameRules sets, on each hit a rule matched, the name of the matching rule of highest severity.
func (c *Case) NameRules(ctx context.Context, hits []store.Hit) error {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	names, err := c.st.EventRuleNames(ctx, ids)
	for i := range hits {
		hits[i].Rule = names[hits[i].ID]
	}
	return err
}

// Count is the number of events matching f.
func (c *Case) Count(ctx context.Context, f store.Filter) (int64, error) { return c.st.Count(ctx, f) }

// CountValues counts the events matching f by their values of field (any field a query can
// test, such as userIdentity.arn or requestParameters.bucketName, or rule: the rules that
// matched them): the commonest top values (0:
// all), how many distinct values there are and how many events have none. Each value counted
// is one that field:value matches, so adding it to the query keeps exactly its events. progress
// (if set) is told now and then how many matches were read.
func (c *Case) CountValues(ctx context.Context, f store.Filter, field string, top int, progress func(read int64)) (*store.FieldCounts, error) {
	field = strings.TrimSpace(field)
	if strings.EqualFold(field, query.RuleField) {
		return c.st.CountValues(ctx, f, store.ValueSource{Rules: true}, top, progress)
	}
	if !query.IsField(field) {
		return nil, fmt.Errorf("%q is no field to count by (a field is a path such as userIdentity.arn)", field)
	}
	src := store.ValueSource{Values: query.RecordValues(field)}
	if expr, ok := query.CountExpr(field); ok {
		src = store.ValueSource{Expr: expr}
	}
	return c.st.CountValues(ctx, f, src, top, progress)
}

// Histogram counts the events matching f per time bin, oldest first; empty bins are left out.
func (c *Case) Histogram(ctx context.Context, f store.Filter, bin time.Duration) ([]store.Bin, error) {
	return c.st.Histogram(ctx, f, bin)
}

// Pivot kinds.
const (
	PivotIP        = "ip"
	PivotPrincipal = "principal"
	PivotEvent     = "event"
	PivotKey       = "key"
)

// Pivot profiles one entity: an IP address, a principal ARN, an event name, or an access key /
// role session.
func (c *Case) Pivot(ctx context.Context, kind, value string, opt store.PivotOptions) (*store.Profile, error) {
	switch kind {
	case PivotIP:
		return c.st.PivotIP(ctx, value, opt)
	case PivotPrincipal:
		return c.st.PivotPrincipal(ctx, value, opt)
	case PivotEvent:
		return c.st.PivotEvent(ctx, value, opt)
	case PivotKey:
		return c.st.PivotKey(ctx, value, opt)
	}
	return nil, &query.Error{Msg: "pivot kind must be ip, principal, event or key"}
}

// PivotWindow profiles a time window: its events and the addresses in it.
func (c *Case) PivotWindow(ctx context.Context, from, to time.Time, opt store.PivotOptions) (*store.Profile, error) {
	return c.st.PivotWindow(ctx, from, to, opt)
}

// SearchAfter streams the matches of f that come after the match after in Search's order (newest
// first, ties by eventID): the next page, read from the case where the last one ended rather
// than by reading the pages before it again. limit 0 means all.
func (c *Case) SearchAfter(ctx context.Context, f store.Filter, after store.Hit, limit int, fn func(store.Hit) error) error {
	// Events of the same millisecond come first, by eventID; then the older ones.
	same := f
	if same.Since.Before(after.Time) {
		same.Since = after.Time
	}
	if end := after.Time.Add(time.Millisecond); same.Until.IsZero() || end.Before(same.Until) {
		same.Until = end
	}
	n := 0
	errStop := errors.New("page full")
	err := c.st.Search(ctx, same, 0, func(h store.Hit) error {
		if h.EventID <= after.EventID || !h.Time.Equal(after.Time) {
			return nil
		}
		if limit > 0 && n == limit {
			return errStop
		}
		n++
		return fn(h)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil || limit > 0 && n == limit {
		return err
	}
	older := f
	if older.Until.IsZero() || after.Time.Before(older.Until) {
		older.Until = after.Time
	}
	rest := 0
	if limit > 0 {
		rest = limit - n
	}
	return c.st.Search(ctx, older, rest, fn)
}
