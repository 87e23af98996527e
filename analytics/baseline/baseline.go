// Package baseline is the anomaly engine: it learns what normal CloudTrail activity looks like
// (per-bin volumes by direction and API, and what each principal usually calls, from where and
// how) and turns what departs from it into a few explained anomalies with a risk level 1–10.
package baseline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

// Events is what the engine reads: every event once, in time order. The engine uses only the
// extracted fields (Raw may be nil): EventID, Time, EventSource, EventName, Region, SourceIP,
// UserAgent, ErrorCode, PrincipalType, PrincipalARN, PrincipalID, InvokedBy, SessionIssuer,
// AccessKey, MFA, RecipientAccount and Direction.
type Events interface {
	ScanEvents(ctx context.Context, fn func(*cloudtrail.Event) error) error
}

// Options tune an analysis; the zero value is usable.
type Options struct {
	Bin         time.Duration                  // bin and anomaly window size; default 5 minutes
	MinRisk     int                            // anomalies below this risk are not reported; default 3
	MaxEventIDs int                            // event IDs kept per anomaly; default 2000
	Classify    func(*cloudtrail.Event) string // direction for events that have none; default inbound
}

// Result is the output of one analysis.
type Result struct {
	Anomalies []finding.Anomaly // highest risk first, then score, window and entity
	Series    []finding.Point   // per direction and bin, in time order
	Notes     []string          // what limited the analysis (short history, out-of-order input)
}

// Analyze runs the engine over every event of src.
func Analyze(ctx context.Context, src Events, opt Options) (Result, error) {
	e := NewEngine(opt)
	n := 0
	err := src.ScanEvents(ctx, func(ev *cloudtrail.Event) error {
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return e.Add(ev)
	})
	if err != nil {
		return Result{}, fmt.Errorf("analyze: scan events: %w", err)
	}
	return e.Finish(), nil
}

// Directions in the order the series lists them.
var directions = [...]string{cloudtrail.Inbound, cloudtrail.Internal, cloudtrail.Outbound}

// Engine is the streaming form of Analyze: Add events in time order, then Finish. Memory holds
// the current bin's events and per-entity state, never the whole input. Not safe for concurrent use.
type Engine struct {
	opt        Options
	bin        time.Duration
	binsPerDay int64
	ringSize   int

	firstBin int64 // first bin of the data, -1 before any event
	cur      int64 // the bin being filled
	buf      []rec

	principals map[string]*pstate
	org        [numDims]counter
	peers      map[string]*[numDims]counter // the account-wide view per peer group, and per group and tool
	firsts     map[string]*firstRate        // per peer group: what its newcomers' first windows brought
	// sensNew, per kind: of the principals' windows with calls, those that brought a
	// sensitive API of that kind nobody in the account had called.
	sensNew [numSensKinds]share
	// mfaOff: of the console sign-in windows of principals that had always signed in with MFA
	// (or never signed in), those that brought a sign-in without it.
	mfaOff share
	// rootUse: of the principals' windows with calls, those of the account's root user acting
	// on its own (not an AWS service on its behalf).
	rootUse share
	orgPrin counter
	vol     map[string]*history // volume keys: direction, API, API × error code
	account string              // the most recent recipient account, named by drop findings

	series   []finding.Point
	open     map[string]*episode
	anoms    []finding.Anomaly // closed episodes that made the cut
	events   int
	late     int
	seasonBy [2]bool // whether any score used a non-seasonal or seasonal volume baseline

	sampleBuf, devBuf []float64
	seen              map[string]bool // scratch for learn
}

// rec is the part of an event the engine keeps while its bin is open.
type rec struct {
	id, dir, pkey, etype, arn, ip, name, agent string
	t                                          time.Time
	account                                    string
	service                                    bool   // an AWS service acting, not a person or workload
	root                                       bool   // the account's root user acting, not a service for it
	class                                      string // peer group
	tool                                       string // peer group and user-agent family
	v                                          [numDims]string
}

// pstate is what the engine knows about one principal.
type pstate struct {
	first int64 // bin first seen
	dims  [numDims]counter
	apis  map[string]*pvol
}

// NewEngine returns an engine with opt's defaults filled in.
func NewEngine(opt Options) *Engine {
	if opt.Bin <= 0 {
		opt.Bin = 5 * time.Minute
	}
	if opt.MinRisk <= 0 {
		opt.MinRisk = 3
	}
	if opt.MaxEventIDs <= 0 {
		opt.MaxEventIDs = 2000
	}
	perDay := int64(24 * time.Hour / opt.Bin)
	if perDay < 1 {
		perDay = 1
	}
	return &Engine{
		opt:        opt,
		bin:        opt.Bin,
		binsPerDay: perDay,
		ringSize:   int(7*perDay) + 2*seasonalHalfWidth + 2,
		firstBin:   -1,
		principals: make(map[string]*pstate),
		peers:      make(map[string]*[numDims]counter),
		firsts:     make(map[string]*firstRate),
		vol:        make(map[string]*history),
		open:       make(map[string]*episode),
		seen:       make(map[string]bool),
	}
}

// ErrFinished is returned by Add after Finish.
var ErrFinished = errors.New("baseline: engine already finished")

// Add feeds one event. Events must come in time order; an event older than the open bin is
// counted in it (and reported in Notes) rather than rewriting the past.
func (e *Engine) Add(ev *cloudtrail.Event) error {
	if e.cur == -2 {
		return ErrFinished
	}
	b := ev.Time.UnixNano() / int64(e.bin)
	if e.firstBin < 0 {
		e.firstBin, e.cur = b, b
	}
	if b < e.cur {
		e.late++
		b = e.cur
	}
	for b > e.cur {
		e.flush()
		e.cur++
		// Jump over long silences: bins more than a week apart share no baseline anyway.
		if b-e.cur > 7*e.binsPerDay {
			e.closeAll()
			e.cur = b - 7*e.binsPerDay
		}
	}
	dir := ev.Direction
	if dir == "" {
		dir = cloudtrail.Inbound
		if e.opt.Classify != nil {
			dir = e.opt.Classify(ev)
		}
	}
	r := rec{id: ev.EventID, dir: dir, t: ev.Time, arn: ev.PrincipalARN, ip: ev.SourceIP,
		name: baseName(ev.EventName), agent: ev.UserAgent, account: ev.RecipientAccount}
	if r.arn == "" {
		r.arn = cloudtrail.PrincipalOf(ev)
	}
	r.pkey, r.etype = principalKey(ev)
	r.class = peerGroup(ev)
	r.service = ev.PrincipalType == "AWSService" || ev.PrincipalARN == "" && ev.InvokedBy != ""
	r.root = ev.PrincipalType == "Root" && ev.InvokedBy == ""
	values(ev, &r.v)
	r.tool = r.class + "\x00" + r.v[dimAgent]
	e.buf = append(e.buf, r)
	e.events++
	return nil
}

// Finish closes the last bin and returns the result. The engine cannot be used afterwards.
func (e *Engine) Finish() Result {
	if e.cur == -2 {
		return Result{}
	}
	if e.firstBin >= 0 {
		e.flush()
	}
	e.closeAll()
	res := Result{Series: e.series, Anomalies: e.anoms, Notes: e.notes()}
	e.cur = -2
	slices.SortStableFunc(res.Anomalies, func(a, b finding.Anomaly) int {
		return cmp.Or(cmp.Compare(b.Risk, a.Risk), cmp.Compare(b.Score, a.Score),
			a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Entity, b.Entity), cmp.Compare(a.ID, b.ID))
	})
	return res
}

func (e *Engine) notes() []string {
	var notes []string
	if e.firstBin < 0 {
		return []string{"no events: nothing to analyse"}
	}
	span := time.Duration(e.lastBin()-e.firstBin+1) * e.bin
	if span < 24*time.Hour {
		notes = append(notes, fmt.Sprintf("%s of history (less than a day): per-principal novelty is thin and volume baselines use what there is; risk lowered", span.Round(time.Minute)))
	} else {
		notes = append(notes, "habits are learnt over the data's first two days: risk lowered there, by 2 over the first twelve hours and by 1 until the second day ends")
	}
	if span < 7*24*time.Hour {
		notes = append(notes, fmt.Sprintf("%s of history (less than 7 days): no weekday seasonality, confidence lowered", span.Round(time.Hour)))
	}
	if e.late > 0 {
		notes = append(notes, fmt.Sprintf("%d events arrived out of time order and were counted in a later bin", e.late))
	}
	return notes
}

func (e *Engine) lastBin() int64 {
	if e.cur == -2 {
		return e.firstBin
	}
	return e.cur
}

// historyFor returns a volume key's history, creating it.
func (e *Engine) historyFor(key string) *history {
	h := e.vol[key]
	if h == nil {
		h = newHistory(e.ringSize, 7*e.binsPerDay)
		e.vol[key] = h
	}
	return h
}

func (e *Engine) weekend(b int64) bool {
	wd := time.Unix(0, b*int64(e.bin)).UTC().Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// closeAll ends every open episode.
func (e *Engine) closeAll() {
	keys := make([]string, 0, len(e.open))
	for k := range e.open {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.close(e.open[k])
		delete(e.open, k)
	}
}
