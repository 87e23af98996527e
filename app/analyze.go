package app

import (
	"context"
	"strings"
	"time"

	"github.com/trailscope/trailscope/analytics/baseline"
	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// notesKey holds what limited the last analysis (short history…), one note per line.
const notesKey = "analysis_notes"

// Analyze runs the baseline engine over the case and stores its anomalies and series. Unless
// rebuild is set it does nothing when the stored results already cover every event. progress
// gets the events read so far and the total.
func (c *Case) Analyze(ctx context.Context, rebuild bool, progress func(done, total int64)) error {
	if !rebuild {
		need, err := c.st.NeedsAnalysis(ctx)
		if err != nil || !need {
			return err
		}
	}
	mark, err := c.st.EventsMark(ctx)
	if err != nil {
		return err
	}
	cl, err := c.Classifier(ctx)
	if err != nil {
		return err
	}
	bin, err := c.Bin(ctx)
	if err != nil {
		return err
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	src := &countingScan{st: c.st, total: mark, progress: progress}
	res, err := baseline.Analyze(ctx, src, baseline.Options{
		Bin:      bin,
		Classify: func(e *cloudtrail.Event) string { return cl.Classify(e) },
	})
	if err != nil {
		return err
	}
	if err := c.st.SaveAnalysis(ctx, res.Anomalies, res.Series, mark); err != nil {
		return err
	}
	progress(mark, mark)
	return c.st.SetSetting(ctx, notesKey, strings.Join(res.Notes, "\n"))
}

// AnalysisNotes says what limited the last analysis (e.g. too little history for seasonality).
func (c *Case) AnalysisNotes(ctx context.Context) ([]string, error) {
	v, err := c.st.Setting(ctx, notesKey, "")
	if err != nil || v == "" {
		return nil, err
	}
	return strings.Split(v, "\n"), nil
}

// Series reads the stored per-direction series (all directions when direction is "").
func (c *Case) Series(ctx context.Context, direction string, from, to time.Time) ([]finding.Point, error) {
	return c.st.Series(ctx, direction, from, to)
}

// countingScan feeds the engine from the store and reports how far it has read.
type countingScan struct {
	st       *store.Store
	total    int64
	progress func(done, total int64)
}

func (s *countingScan) ScanEvents(ctx context.Context, fn func(*cloudtrail.Event) error) error {
	var n int64
	return s.st.ScanEvents(ctx, func(e *cloudtrail.Event) error {
		n++
		if n%50000 == 0 {
			s.progress(n, s.total)
		}
		return fn(e)
	})
}
