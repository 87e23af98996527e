package baseline

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

// Findings are grouped per window and entity; when the entity goes on in the next windows from
// the same new address, agent or key, those windows join the anomaly as one episode, so an
// intrusion that lasts half an hour is one anomaly holding all its events.
const (
	maxEpisodeBins = 24 // two hours of 5-minute windows
	maxEpisodeGap  = 2  // quiet windows allowed inside an episode
)

// stickyDims are the dimensions whose new or rare values carry an episode on: they say who is
// at the keyboard. Any other novelty carries it on when it repeats while still new (the same new
// API called again a few minutes later is the same story).
var stickyDims = map[string]bool{dimNames[dimNetwork]: true, dimNames[dimAgent]: true, dimNames[dimKey]: true, dimNames[dimRegion]: true}

func sticky(f *fct) bool {
	if f.value == "" || f.dim == "principal" {
		return false
	}
	return f.label == finding.LabelNew || stickyDims[f.dim] && f.label == finding.LabelRare
}

// continues reports whether group gk's events in bin b carry on its open episode.
func (e *Engine) continues(gk string, b int64, evs []rec, idx []int) bool {
	ep := e.open[gk]
	if ep == nil || b-ep.last > maxEpisodeGap+1 || b-ep.start >= maxEpisodeBins {
		return false
	}
	for _, i := range idx {
		for _, f := range ep.factors {
			if sticky(f) && f.match(&evs[i]) {
				return true
			}
		}
	}
	return false
}

// episode is an anomaly being built: one entity's findings over consecutive windows.
type episode struct {
	key         string // group key: entity type | learning key
	etype       string
	start, last int64
	factors     map[string]*fct
	ids         []evRef
	seenIDs     map[string]bool
	dirs        map[string]int
	apis        map[string]int
	errs        map[string]int
	arns        map[string]int
	firstBin    int64 // of the data set, to judge how much history stood behind the scores
	principal   *pstate
}

type evRef struct {
	t  time.Time
	id string
}

// extend adds a bin's findings for group gk to its open episode, or opens one.
func (e *Engine) extend(gk string, b int64, evs []rec, idx []int, fs []fct) {
	ep := e.open[gk]
	if ep != nil && !e.continues(gk, b, evs, idx) {
		e.close(ep)
		delete(e.open, gk)
		ep = nil
	}
	if ep == nil {
		etype, _, _ := strings.Cut(gk, "|")
		ep = &episode{key: gk, etype: etype, start: b, factors: map[string]*fct{}, seenIDs: map[string]bool{},
			dirs: map[string]int{}, apis: map[string]int{}, errs: map[string]int{}, arns: map[string]int{},
			firstBin: e.firstBin}
		if len(idx) > 0 {
			ep.principal = e.principals[evs[idx[0]].pkey]
		}
		e.open[gk] = ep
	}
	ep.last = b
	// Something one in 2^bits rare turns up by chance in one of n windows n times as often: an
	// analyst working two hours from a new address trips over a rare error code or API sooner or
	// later. What an episode finds after its first window counts that much less.
	late := math.Log2(float64(b - ep.start + 1))
	for i := range fs {
		f := fs[i]
		f.bits -= late
		if f.bits <= 0 {
			continue
		}
		k := f.key()
		if old := ep.factors[k]; old == nil || f.bits > old.bits {
			ep.factors[k] = &f
		}
	}
	// The events behind the factors: the group's own, or for a volume finding about a whole
	// API or direction, every matching event of the bin.
	pool := idx
	if len(idx) == 0 {
		pool = make([]int, len(evs))
		for i := range pool {
			pool[i] = i
		}
	}
	for _, i := range pool {
		r := &evs[i]
		hit := false
		for j := range fs {
			if fs[j].match != nil && fs[j].match(r) {
				hit = true
				break
			}
		}
		for _, f := range ep.factors {
			if hit {
				break
			}
			hit = sticky(f) && f.match(r)
		}
		if !hit {
			continue
		}
		ep.dirs[r.dir]++
		ep.apis[r.name]++
		if r.v[dimError] != "ok" {
			ep.errs[r.v[dimError]]++
		}
		if r.arn != "" {
			ep.arns[r.arn]++
		}
		if len(ep.ids) < e.opt.MaxEventIDs && !ep.seenIDs[r.id] {
			ep.seenIDs[r.id] = true
			ep.ids = append(ep.ids, evRef{r.t, r.id})
		}
	}
}

// close turns a finished episode into an anomaly if it reaches the minimum risk.
func (e *Engine) close(ep *episode) {
	if a, ok := e.anomaly(ep); ok {
		e.anoms = append(e.anoms, a)
	}
}

// combine turns factor bits into a score: the strongest factor of each kind of evidence counts
// fully and repeats of the same kind count less, then kinds are added with decreasing weight, so
// several independent oddities outrank one very loud one.
func combine(fs []*fct) float64 {
	byDim := map[string][]float64{}
	for _, f := range fs {
		k := f.dim
		if f.kind != "" {
			k = f.kind
		}
		byDim[k] = append(byDim[k], f.bits)
	}
	var dims []float64
	for _, bs := range byDim {
		slices.SortFunc(bs, func(a, b float64) int { return cmp.Compare(b, a) })
		s, w := 0.0, 1.0
		for _, x := range bs {
			s += w * x
			w *= 0.5
		}
		dims = append(dims, s)
	}
	slices.SortFunc(dims, func(a, b float64) int { return cmp.Compare(b, a) })
	s, w := 0.0, 1.0
	for _, x := range dims {
		s += w * x
		w *= 0.75
	}
	return s
}

// riskFloor[r] is the score, in bits, an anomaly needs for risk r. A day holds some ten
// thousand principal-windows (about 2^13): from 14 bits (risk 9) less than one window a day
// should get there by chance, from 20 bits (risk 10) less than one in a hundred days.
var riskFloor = [11]float64{2: 3, 3: 4, 4: 5.5, 5: 7, 6: 8.5, 7: 10, 8: 12, 9: 14, 10: 20}

// riskOf maps a score in bits to a risk level 1–10.
func riskOf(score float64) int {
	r := 1
	for l := 2; l <= 10; l++ {
		if score >= riskFloor[l] {
			r = l
		}
	}
	return r
}

// directionWeight scales a score by where the activity runs: data or access leaving the account
// matters most, calls from inside the account (private addresses, AWS services) least.
func directionWeight(dir string) float64 {
	switch dir {
	case cloudtrail.Outbound:
		return 1.1
	case cloudtrail.Internal:
		return 0.8
	}
	return 1
}

// anomaly builds the public form of an episode; ok is false below the minimum risk.
func (e *Engine) anomaly(ep *episode) (finding.Anomaly, bool) {
	fs := make([]*fct, 0, len(ep.factors))
	for _, f := range ep.factors {
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(a, b *fct) int {
		return cmp.Or(cmp.Compare(b.bits, a.bits), cmp.Compare(a.dim, b.dim), cmp.Compare(a.name, b.name),
			cmp.Compare(fmt.Sprint(a.observed), fmt.Sprint(b.observed)))
	})
	score := combine(fs)
	for _, f := range fs {
		// Sensitive APIs break ties.
		if f.api != "" && sensitiveKind(f.api) != sensNone && (f.label == finding.LabelNew || f.label == finding.LabelRare || f.label == finding.LabelSpike) {
			score += 1
			break
		}
	}
	dir := cloudtrail.Inbound
	switch {
	case ep.dirs[cloudtrail.Outbound] > 0:
		dir = cloudtrail.Outbound
	case ep.dirs[cloudtrail.Internal] > ep.dirs[cloudtrail.Inbound]:
		dir = cloudtrail.Internal
	}
	raw := score
	score *= directionWeight(dir)
	risk := riskOf(score)
	held := risk > maxBusyRisk && !novel(fs)
	if held {
		risk = maxBusyRisk
	}
	conf := "full"
	hist := time.Duration(ep.start-ep.firstBin) * e.bin
	if hist < 24*time.Hour {
		cut := int(math.Ceil(2 * (1 - hist.Hours()/24)))
		risk = max(1, risk-cut)
		conf = fmt.Sprintf("lowered: %s of history before this window, a day is needed for per-principal novelty", hist.Round(time.Minute))
	} else if hist < 48*time.Hour {
		// The data's first day is where principals' habits begin to be learnt: through the
		// second, most have less than a day of their own, and what is new to them is often
		// only what they did not happen to do the day before.
		risk = max(1, risk-1)
		conf = fmt.Sprintf("lowered: %s of history before this window; until the data's second day ends, most principals have less than a day of their own", hist.Round(time.Minute))
	} else if ep.principal != nil && time.Duration(ep.start-ep.principal.first)*e.bin < 24*time.Hour {
		conf = fmt.Sprintf("lowered: principal first seen %s before this window", (time.Duration(ep.start-ep.principal.first) * e.bin).Round(time.Minute))
	} else if hist < 7*24*time.Hour {
		conf = "reduced: less than 7 days of history, no weekday seasonality"
	}
	if held {
		note := fmt.Sprintf("held at %d: more of the usual, nothing new or rare", maxBusyRisk)
		if conf == "full" {
			conf = note
		} else {
			conf += "; " + note
		}
	}
	if risk < e.opt.MinRisk {
		return finding.Anomaly{}, false
	}

	entity := strings.SplitN(ep.key, "|", 2)[1]
	if ep.etype == finding.EntityPrincipal {
		if a := topKey(ep.arns); a != "" {
			entity = a
		}
	} else if ep.etype == finding.EntityAPI {
		entity = apiName(entity)
	}
	start := time.Unix(0, ep.start*int64(e.bin)).UTC()
	end := time.Unix(0, (ep.last+1)*int64(e.bin)).UTC()
	sum := sha256.Sum256([]byte(dir + "\x00" + start.Format(time.RFC3339) + "\x00" + ep.etype + "\x00" + entity))

	slices.SortFunc(ep.ids, func(a, b evRef) int { return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.id, b.id)) })
	ids := make([]string, len(ep.ids))
	for i, r := range ep.ids {
		ids[i] = r.id
	}
	const maxFactors = 10
	factors := make([]finding.Factor, 0, min(len(fs), maxFactors))
	for _, f := range fs[:min(len(fs), maxFactors)] {
		w := 0.0
		if raw > 0 {
			w = math.Round(f.bits/raw*100) / 100
		}
		factors = append(factors, finding.Factor{Name: f.name, Observed: f.observed, Baseline: f.baseline, Label: f.label, Weight: w})
	}
	return finding.Anomaly{
		ID:          hex.EncodeToString(sum[:6]),
		Risk:        risk,
		Direction:   dir,
		WindowStart: start,
		WindowEnd:   end,
		EntityType:  ep.etype,
		Entity:      entity,
		Title:       title(ep, entity, fs),
		Factors:     factors,
		EventIDs:    ids,
		Score:       math.Round(score*100) / 100,
		Confidence:  conf,
	}, true
}

// maxBusyRisk is the highest risk of an anomaly with nothing new or rare about it: a known
// principal calling its usual APIs from its usual network with its usual tools, only more of
// them. The spikes of one busy window are one piece of evidence, not several, and busy is not
// new; the critical levels need both.
const maxBusyRisk = 8

// novel reports whether any factor says something new or rare: a value a principal or the
// account had not used, or the principal itself.
func novel(fs []*fct) bool {
	return slices.ContainsFunc(fs, func(f *fct) bool {
		return f.dim != "volume" && (f.label == finding.LabelNew || f.label == finding.LabelRare)
	})
}

// topKey returns the most frequent key of a count map (ties by key).
func topKey(m map[string]int) string {
	best, bc := "", 0
	for k, c := range m {
		if c > bc || c == bc && k < best {
			best, bc = k, c
		}
	}
	return best
}

// title says in one line who did what and what was odd about it.
func title(ep *episode, entity string, fs []*fct) string {
	var who string
	switch ep.etype {
	case finding.EntityIP:
		who = "Address " + entity
	case finding.EntityAPI:
		who = "Calls to " + entity
	case finding.EntityAccount:
		who = "Account " + entity
	default:
		who = principalWords(entity)
	}
	var ctx []string
	for _, f := range fs {
		if f.dim == "principal" && f.label == finding.LabelNew {
			who += " (first seen)"
			break
		}
	}
	for _, f := range fs {
		if f.dim == dimNames[dimNetwork] && f.label == finding.LabelNew {
			if publicAddress(fmt.Sprint(f.observed)) {
				ctx = append(ctx, "from a new external address")
			} else {
				ctx = append(ctx, "from a new address")
			}
			break
		}
	}
	newAPIs := map[string]bool{}
	for _, f := range fs {
		switch {
		case f.dim == dimNames[dimAgent] && f.label == finding.LabelNew:
			if !slices.Contains(ctx, "with a new user agent") {
				ctx = append(ctx, "with a new user agent")
			}
		case f.dim == dimNames[dimRegion] && (f.label == finding.LabelNew || f.label == finding.LabelRare):
			ctx = append(ctx, fmt.Sprintf("in %s region %v", f.label, f.observed))
		case f.dim == dimNames[dimMFA] && f.observed == mfaWithout:
			ctx = append(ctx, "signing in without MFA")
		case f.dim == dimNames[dimAPI] && f.label == finding.LabelNew:
			newAPIs[apiName(f.value)] = true
		case f.label == finding.LabelDrop:
			return fmt.Sprintf("%s: %s fell to %v (expected %v)", who, f.name, f.observed, f.baseline)
		}
	}
	if len(ctx) > 2 {
		ctx = ctx[:2]
	}
	// The most called APIs of the episode.
	type ac struct {
		name string
		n    int
	}
	var calls []ac
	for n, c := range ep.apis {
		calls = append(calls, ac{n, c})
	}
	// New calls first, then the busiest.
	slices.SortFunc(calls, func(a, b ac) int {
		return cmp.Or(-cmp.Compare(boolIndex(newAPIs[a.name]), boolIndex(newAPIs[b.name])), cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
	})
	var parts []string
	for _, c := range calls[:min(3, len(calls))] {
		p := c.name
		if c.n > 1 {
			p += fmt.Sprintf(" ×%d", c.n)
		}
		if newAPIs[c.name] {
			p += " (new)"
		}
		parts = append(parts, p)
	}
	s := who
	if len(ctx) > 0 {
		s += " " + strings.Join(ctx, ", ")
	}
	if len(parts) > 0 {
		s += " calling " + joinWords(parts)
		if len(calls) > 3 {
			s += fmt.Sprintf(" and %d more", len(calls)-3)
		}
		if len(newAPIs) > 3 {
			s += fmt.Sprintf(", %d of them new", len(newAPIs))
		}
	}
	if len(ep.errs) > 0 {
		s += fmt.Sprintf(" (%s ×%d)", topKey(ep.errs), ep.errs[topKey(ep.errs)])
	}
	for _, f := range fs {
		if f.label == finding.LabelSpike {
			s += fmt.Sprintf("; %s %v vs %v usual", f.name, f.observed, f.baseline)
			break
		}
	}
	return s
}

// publicAddress reports whether s is an IP address outside private and special ranges.
func publicAddress(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && public(a)
}

func public(a netip.Addr) bool {
	a = a.Unmap()
	return !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified())
}

// principalWords names a principal the way an analyst says it: "Role web-waf", "IAM user alice".
func principalWords(arn string) string {
	switch {
	case strings.HasSuffix(arn, ":root"):
		return "Root account " + strings.TrimSuffix(strings.TrimPrefix(arn, "arn:aws:iam::"), ":root")
	case strings.Contains(arn, ":assumed-role/"):
		rest := arn[strings.Index(arn, ":assumed-role/")+len(":assumed-role/"):]
		role, session, _ := strings.Cut(rest, "/")
		if strings.HasPrefix(session, "i-") {
			return "Instance role " + role
		}
		return "Role " + role
	case strings.Contains(arn, ":user/"):
		return "IAM user " + arn[strings.LastIndex(arn, "/")+1:]
	case strings.Contains(arn, ":role/"):
		return "Role " + arn[strings.LastIndex(arn, "/")+1:]
	case strings.HasSuffix(arn, ".amazonaws.com"):
		return "AWS service " + arn
	}
	return "Principal " + arn
}

func joinWords(p []string) string {
	switch len(p) {
	case 0:
		return ""
	case 1:
		return p[0]
	}
	return strings.Join(p[:len(p)-1], ", ") + " and " + p[len(p)-1]
}
