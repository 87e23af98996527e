package baseline

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

// fct is a finding before it becomes a finding.Factor: what stood out, how much (bits of
// surprise), and which events carry it.
type fct struct {
	dim      string // what kind of evidence: a novelty dimension, "volume", "principal"
	value    string // the learned value a novelty factor is about; volume factors leave it empty
	name     string
	observed any
	baseline any
	label    string
	bits     float64
	match    func(*rec) bool // the events behind the factor
	api      string          // the API a new-API or volume factor is about, for the sensitive tie-break
	code     string          // the error code a volume factor counts, if any
	kind     string          // when set, the kind of evidence combine counts it as, instead of dim
}

// routine reports whether an API volume factor's events from the principal ps (the group idx of
// evs) are no more than half again its busiest window of that API, over a past of a few windows.
func (f *fct) routine(ps *pstate, evs []rec, idx []int) bool {
	if ps == nil || f.dim != "volume" || f.api == "" || f.code != "" {
		return false
	}
	pv := ps.apis[f.api]
	if pv == nil || pv.bins < 3 {
		return false
	}
	n := 0
	for _, i := range idx {
		if evs[i].v[dimAPI] == f.api {
			n++
		}
	}
	return float64(n) <= 1.5*float64(pv.peak)
}

// key identifies a factor across the bins of an episode, so repeats are counted once.
func (f *fct) key() string {
	if f.value != "" {
		return f.dim + "\x00" + f.value
	}
	return f.dim + "\x00" + f.name
}

const (
	minPeerWindows   = 200 // history a peer group needs before it judges its members
	minToolWindows   = 12  // history a tool's users need before their rate of new addresses counts
	shrinkWindows    = 20  // principal history, in active windows, at which its own view counts half
	minFactorBits    = 3   // a factor must be at least one-in-eight unusual to be reported
	maxFactorBits    = 20  // no single factor says more than one in a million
	maxPrincipalBits = 8   // a principal's first appearance alone
	// a principal's first appearance from an address and with a tool its peers use
	familiarPrincipalBits = 5
)

// flush scores the open bin and folds its events into the learned state.
func (e *Engine) flush() {
	b := e.cur
	evs := e.buf
	slices.SortStableFunc(evs, func(x, y rec) int { return cmp.Or(x.t.Compare(y.t), cmp.Compare(x.id, y.id)) })
	binStart := time.Unix(0, b*int64(e.bin)).UTC()
	attached := map[string][]fct{} // group key → volume findings attributed to it

	e.scoreDirections(b, binStart, evs, attached)
	e.scoreAPIs(b, evs, attached)

	// Group by principal (or address when there is none), in a fixed order.
	groups := map[string][]int{}
	for i := range evs {
		groups[evs[i].etype+"|"+evs[i].pkey] = append(groups[evs[i].etype+"|"+evs[i].pkey], i)
	}
	for k := range attached {
		if _, ok := groups[k]; !ok {
			groups[k] = nil
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, gk := range keys {
		idx := groups[gk]
		fs := attached[gk]
		if len(idx) > 0 {
			ps := e.principals[evs[idx[0]].pkey]
			newcomer := e.newcomer(ps, b)
			for i := range fs {
				switch {
				case newcomer:
					// A new job's or person's calls add to the account's: an API busier than
					// usual when someone first appears is what appearing means, and counts
					// half. Their own volume is judged once they have a past.
					fs[i].bits *= 0.5
				case fs[i].routine(ps, evs, idx):
					// The account's count of an API jumped because this principal made as
					// many calls as it has before in a window: a deploy at an unusual hour.
					fs[i].bits /= 4
				}
			}
			fs = append(e.noveltyFactors(b, evs, idx), fs...)
		}
		if len(fs) == 0 && !e.continues(gk, b, evs, idx) {
			continue
		}
		e.extend(gk, b, evs, idx, fs)
	}
	e.learn(b, evs, groups, keys)

	// Episodes not extended for a while are over.
	var done []string
	for k, ep := range e.open {
		if ep.last < b-maxEpisodeGap {
			done = append(done, k)
		}
	}
	slices.Sort(done)
	for _, k := range done {
		e.close(e.open[k])
		delete(e.open, k)
	}
	if len(evs) > 0 {
		e.account = evs[len(evs)-1].account
	}
	clear(e.buf)
	e.buf = e.buf[:0]
}

// scoreDirections appends the bin's series points and scores each direction's volume.
func (e *Engine) scoreDirections(b int64, binStart time.Time, evs []rec, attached map[string][]fct) {
	var counts [len(directions)]int
	for i := range evs {
		for j, d := range directions {
			if evs[i].dir == d {
				counts[j]++
			}
		}
	}
	for j, d := range directions {
		h := e.historyFor("d\x00" + d)
		bd := e.baselineFor(h, b)
		c := float64(counts[j])
		p := finding.Point{Direction: d, BinStart: binStart, Observed: c, Expected: c, Lower: c, Upper: c}
		if bd.n > 0 {
			p.Expected, p.Lower, p.Upper = bd.expected, math.Max(0, bd.expected-3*bd.scale), bd.expected+3*bd.scale
			e.seasonBy[boolIndex(bd.seasonal)] = true
		}
		e.series = append(e.series, p)
		h.set(b, counts[j])
		if bits, _ := spikeBits(c, bd, 20); bits > 0 {
			gk, share := e.topContributor(evs, func(r *rec) bool { return r.dir == d })
			f := fct{dim: "volume", name: d + " calls per " + durationWords(e.bin), observed: c,
				baseline: round1(bd.expected), label: finding.LabelSpike, bits: bits * 0.5,
				match: func(r *rec) bool { return r.dir == d }}
			if share < 0.5 {
				gk = finding.EntityAccount + "|" + e.accountOf(evs)
			}
			attached[gk] = append(attached[gk], f)
		}
		// A sharp fall in a busy direction: logging stopped, or a feed broke.
		if bd.n >= 12 && bd.expected >= 20 && c < bd.expected-4*bd.scale {
			bits := math.Min(8, 2*math.Log2(bd.expected/(c+1)))
			if bits >= minFactorBits {
				gk := finding.EntityAccount + "|" + e.accountOf(evs)
				attached[gk] = append(attached[gk], fct{dim: "volume", name: d + " calls per " + durationWords(e.bin),
					observed: c, baseline: round1(bd.expected), label: finding.LabelDrop, bits: bits,
					match: func(r *rec) bool { return false }})
			}
		}
	}
}

// scoreAPIs scores each API's and API × error code's count in the bin against its history, and
// attributes spikes to the principal behind most of them, or to the API itself.
func (e *Engine) scoreAPIs(b int64, evs []rec, attached map[string][]fct) {
	counts := map[string]int{}
	for i := range evs {
		counts["a\x00"+evs[i].v[dimAPI]]++
		if evs[i].v[dimError] != "ok" {
			counts["e\x00"+evs[i].v[dimAPI]+"\x00"+evs[i].v[dimError]]++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := counts[k]
		h, known := e.vol[k]
		if !known {
			// A first appearance is the novelty model's to judge; start its history.
			e.historyFor(k).set(b, c)
			continue
		}
		bd := e.baselineFor(h, b)
		h.set(b, c)
		bits, _ := spikeBits(float64(c), bd, 10)
		if bits == 0 {
			continue
		}
		parts := strings.Split(k, "\x00")
		api, errc := parts[1], ""
		if len(parts) == 3 {
			errc = parts[2]
		}
		match := func(r *rec) bool { return r.v[dimAPI] == api && (errc == "" || r.v[dimError] == errc) }
		name := apiName(api) + " per " + durationWords(e.bin)
		if errc != "" {
			name = apiName(api) + " " + errc + " per " + durationWords(e.bin)
		}
		gk, share := e.topContributor(evs, match)
		f := fct{dim: "volume", name: name, observed: c, baseline: round1(bd.expected),
			label: finding.LabelSpike, bits: bits * 0.75, match: match, api: api, code: errc}
		if share < 0.5 {
			gk = finding.EntityAPI + "|" + api
		}
		attached[gk] = append(attached[gk], f)
	}
}

// topContributor returns the group key with the most matching events and its share.
func (e *Engine) topContributor(evs []rec, match func(*rec) bool) (string, float64) {
	n := map[string]int{}
	total := 0
	for i := range evs {
		if match(&evs[i]) {
			n[evs[i].etype+"|"+evs[i].pkey]++
			total++
		}
	}
	best, bc := "", 0
	for k, c := range n {
		if c > bc || c == bc && k < best {
			best, bc = k, c
		}
	}
	if total == 0 {
		return "", 0
	}
	return best, float64(bc) / float64(total)
}

func (e *Engine) accountOf(evs []rec) string {
	for i := range evs {
		if evs[i].account != "" {
			return evs[i].account
		}
	}
	if e.account != "" {
		return e.account
	}
	return "unknown"
}

// noveltyFactors finds what is new or rare for the group's principal in this bin, judged
// against what was known when the bin opened.
func (e *Engine) noveltyFactors(b int64, evs []rec, idx []int) []fct {
	first := &evs[idx[0]]
	ps := e.principals[first.pkey]
	firstDay := !e.pastFirstDay(b)
	newcomer := e.newcomer(ps, b)
	// On the data's first day everyone turns up for the first time, and what a principal brings
	// in its first hour (an address, a tool, its calls) describes one arrival: it counts as one
	// kind of evidence, not as several independent oddities.
	arrival := firstDay && young(ps, b)
	var fs []fct

	if k := e.orgPrin.count(first.pkey); k <= 2 && !firstDay {
		// New principals are created all the time; being new counts, but what they do counts more.
		// Over the data's first day every principal is seen first, which says nothing.
		if bits := math.Min(e.orgPrin.surprise(k), maxPrincipalBits); bits >= minFactorBits {
			base := "first activity seen from this principal"
			if k > 0 {
				base = fmt.Sprintf("active in %d earlier windows", k)
			}
			pk := first.pkey
			fs = append(fs, fct{dim: "principal", value: pk, name: "principal", observed: first.pkey, baseline: base,
				label: label(k, e.orgPrin.n), bits: bits, match: func(r *rec) bool { return r.pkey == pk }})
		}
	}

	// The root user's credentials are kept for the few tasks nothing else can do, and an account
	// seldom acts as root: root acting, unseen or seen in a window or two, is news whatever else
	// it does, on the data's first day too (CIS AWS Foundations alarms on every use). It is
	// judged by how often root acts among all principals' windows, as rare news is above.
	if first.root {
		if k := e.orgPrin.count(first.pkey); k <= 2 {
			if bits := e.rootUse.bits(); bits >= minFactorBits {
				pk := first.pkey
				fs = append(fs, fct{dim: "root", value: pk, name: "root user", observed: "the account's root user acting",
					baseline: fmt.Sprintf("root acted in %d of %d principal windows", e.rootUse.news, e.rootUse.n),
					label:    label(k, e.orgPrin.n), bits: bits, match: func(r *rec) bool { return r.pkey == pk }})
			}
		}
	}

	type seen struct {
		n       int
		example string
	}
	for d := dim(0); d < numDims; d++ {
		vals := map[string]*seen{}
		var order []string
		for _, i := range idx {
			v := evs[i].v[d]
			if v == "" || d == dimError && v == "ok" {
				continue
			}
			s := vals[v]
			if s == nil {
				s = &seen{example: v}
				if d == dimNetwork {
					s.example = evs[i].ip
				}
				vals[v] = s
				order = append(order, v)
			}
			s.n++
		}
		slices.Sort(order)
		for _, v := range order {
			var k uint32
			var pb float64
			var pn uint64
			if ps != nil {
				k = ps.dims[d].count(v)
				pb = ps.dims[d].surprise(k)
				pn = ps.dims[d].n
			}
			ob := 0.0
			orgNew := false
			if orgDims[d] {
				ko := e.org[d].count(v)
				orgNew = ko == 0 && e.org[d].n > 0
				// Judge against the principal's peers once they have history: all of its kind
				// (people, workloads, root…); a new address is routine for CI runners and rare
				// for people.
				ob = e.org[d].surprise(ko)
				if pc := e.peers[first.class]; pc != nil && pc[d].n >= minPeerWindows {
					ob = pc[d].surprise(pc[d].count(v))
				}
				// Its peers using the same tool can only make a value less surprising: a new
				// deploy role calls what the deploy tool always calls, from addresses as new as
				// its runners' always are. What they have never done is judged by the wider
				// group, whose estimate of "new" rests on more history.
				if pt := e.peers[first.tool]; pt != nil {
					kt := pt[d].count(v)
					switch {
					case pt[d].n >= minPeerWindows && (kt > 0 || sessionNews(d, v)):
						ob = math.Min(ob, pt[d].surprise(kt))
					case sessionNews(d, v) && pt[d].w >= minToolWindows:
						// A tool whose sessions mostly start from a fresh address (hosted CI
						// runners) shows it long before its peers can judge anything else; an
						// address it has met once or twice is no rarer than a new one.
						ob = math.Min(ob, pt[d].freshBits())
					}
				}
				// A newcomer's value the account knows only from it came with the
				// newcomer: as surprising as its kind's newcomers make it.
				if ko == k && newcomer {
					if fr := e.firsts[first.class]; fr != nil {
						ob = math.Min(ob, shareBits(fr.news[d], fr.n[d]))
					}
				}
				// Over the data's first day, how rare the account finds a value it has met
				// rests on hours, while principals keep turning up with calls met once or
				// twice: such a value counts half. A value nobody has used keeps its weight;
				// that is how an intruder shows in a log of an hour.
				if ko > 0 && firstDay {
					ob *= 0.5
				}
			}
			// What the account has rarely seen matters only when it is unusual for this principal
			// too; for a principal with no history, the account's view is all there is.
			// The principal's own estimate is shrunk towards the account's while its history
			// is short: after a handful of windows, "new for this principal" says little.
			bits := pb
			if pn == 0 {
				bits = ob
			}
			if k <= 2 && orgDims[d] && pn > 0 {
				pw := float64(ps.dims[d].w) // ps is set: pn > 0 needs history
				w := pw / (pw + shrinkWindows)
				bits = w*pb + (1-w)*ob
			}
			// A sensitive API nobody in the account has called is judged by how often such a
			// call turns up, not by how often any new API does: in a short log everything is
			// new, yet tampering with the trail or sharing a snapshot is no more routine for it.
			if k := sensitiveKind(v); d == dimAPI && orgNew && k != sensNone {
				bits = math.Max(bits, e.sensNew[k].bits())
			}
			// So is a principal's first sign-in without MFA, by how often one turns up among the
			// sign-ins of principals that always used it: where everyone signs in with MFA, a
			// password used without it may be a stolen one, arrival or not.
			if d == dimMFA && v == mfaWithout && k == 0 {
				bits = math.Max(bits, e.mfaOff.bits())
			}
			// A principal that keeps arriving from fresh outside addresses (a CI runner's role) has
			// shown what a new one is worth, however short its history: at most as surprising as
			// the low end of its own share of such windows, which its history's length bounds.
			if ps != nil && sessionNews(d, v) {
				bits = math.Min(bits, shareBits(ps.dims[d].fresh, ps.dims[d].w))
			}
			if d == dimNetwork && !publicAddress(vals[v].example) {
				bits *= 0.5 // a new private or service address is less alarming than a new outside one
			}
			if d == dimError && (serviceSideError(v) || notFoundError(v)) {
				// Throttling and service faults tell of the service's load and the caller's
				// volume, which the volume factors weigh; not of what the caller meant to do.
				// "Not found" is the answer to an existence check, which infrastructure tools
				// make all day; a brute force of names shows as a volume of it.
				bits *= 0.5
			} else if d == dimError && vals[v].n == 1 {
				// One refused call is a slip; refusals that repeat are a pattern.
				bits *= 0.5
			}
			bits = math.Min(bits, maxFactorBits)
			if bits < minFactorBits {
				continue
			}
			base := "no history for this principal"
			if ps != nil && pn > 0 {
				top, tc := ps.dims[d].top()
				base = fmt.Sprintf("usually %s (%d of %d active windows)", display(d, top), tc, pn)
			}
			if orgNew {
				base += "; new to the account"
			}
			dd, vv := d, v
			f := fct{dim: dimNames[d], value: v, name: dimNames[d], observed: display(d, vals[v].example), baseline: base,
				label: label(k, pn), bits: bits, match: func(r *rec) bool { return r.v[dd] == vv }}
			if d == dimAPI {
				f.api = v
				if n := vals[v].n; n > 1 {
					f.observed = fmt.Sprintf("%s ×%d", display(d, v), n)
				}
			}
			if arrival {
				f.kind = "arrival"
			}
			fs = append(fs, f)
		}
	}

	// The principal's own volume per API, against its past bins.
	if ps != nil {
		per := principalCounts(evs, idx)
		apis := make([]string, 0, len(per))
		for a := range per {
			apis = append(apis, a)
		}
		slices.Sort(apis)
		for _, a := range apis {
			pv := ps.apis[a]
			if pv == nil {
				continue
			}
			bits, mean := principalSpikeBits(per[a], *pv)
			if bits < minFactorBits {
				continue
			}
			f := fct{dim: "volume", observed: per[a], baseline: round1(mean), label: finding.LabelSpike, bits: bits}
			per5 := " per " + durationWords(e.bin) + " by this principal"
			switch {
			case a == distinctKey:
				f.name = "distinct APIs" + per5
				f.match = func(*rec) bool { return true }
			case strings.HasPrefix(a, errorPrefix):
				code := a[len(errorPrefix):]
				f.name = code + " errors" + per5
				f.match = func(r *rec) bool { return r.v[dimError] == code }
			default:
				api := a
				f.name, f.api = apiName(a)+per5, a
				f.match = func(r *rec) bool { return r.v[dimAPI] == api }
			}
			fs = append(fs, f)
		}
	}
	// A new principal calling from where its peers call, with their tools, is how new workloads
	// and people start; its newness says much more when it comes from somewhere new.
	if i := slices.IndexFunc(fs, func(f fct) bool { return f.dim == "principal" }); i >= 0 &&
		!slices.ContainsFunc(fs, func(f fct) bool { return f.dim == dimNames[dimNetwork] || f.dim == dimNames[dimAgent] }) {
		fs[i].bits = math.Min(fs[i].bits, familiarPrincipalBits)
	}
	if first.service && !slices.ContainsFunc(idx, func(i int) bool { return evs[i].dir == cloudtrail.Outbound }) {
		// AWS services act on their own schedule; what they do new is rarely an intrusion,
		// unless it tells that data left (another account copying a shared snapshot).
		for i := range fs {
			fs[i].bits *= 0.5
		}
	}
	return fs
}

// Pseudo-APIs of a principal's volume: its error count per code, and how many distinct APIs it
// called in a bin (enumeration touches many).
const (
	errorPrefix = "error/"
	distinctKey = "#distinct"
)

// principalCounts counts a group's calls per API, its errors per code and its distinct APIs.
func principalCounts(evs []rec, idx []int) map[string]int {
	per := map[string]int{}
	apis := 0
	for _, i := range idx {
		r := &evs[i]
		if per[r.v[dimAPI]] == 0 {
			apis++
		}
		per[r.v[dimAPI]]++
		if r.v[dimError] != "ok" {
			per[errorPrefix+r.v[dimError]]++
		}
	}
	per[distinctKey] = apis
	return per
}

// learn folds the bin's events into the per-principal and account-wide state.
func (e *Engine) learn(b int64, evs []rec, groups map[string][]int, keys []string) {
	for _, gk := range keys {
		idx := groups[gk]
		if len(idx) == 0 {
			continue
		}
		pkey := evs[idx[0]].pkey
		ps := e.principals[pkey]
		var fr *firstRate // set in a newcomer's first window
		if ps == nil {
			if e.newcomer(nil, b) {
				if fr = e.firsts[evs[idx[0]].class]; fr == nil {
					fr = &firstRate{}
					e.firsts[evs[idx[0]].class] = fr
				}
			}
			ps = &pstate{first: b, apis: map[string]*pvol{}}
			e.principals[pkey] = ps
		}
		// The principal itself, then the account, its peer group and its peers using the same tool.
		views := [...]*[numDims]counter{&ps.dims, &e.org, e.peer(evs[idx[0]].class), e.peer(evs[idx[0]].tool)}
		// Values are counted once per principal and window: calls come in bursts, and a
		// burst of a hundred calls from one address is one observation of it, not a hundred.
		for d := dim(0); d < numDims; d++ {
			n := len(views)
			if !orgDims[d] {
				n = 1
			}
			clear(e.seen)
			var news [len(views)]bool
			orgNew := false                // a value new to the account
			var sensNew [numSensKinds]bool // the kinds of sensitive API new to the account
			// A principal's first values are not news: the rate that matters is how often a
			// principal with a history shows a new one, not how each one started.
			known := ps.dims[d].w > 0
			alwaysMFA := d == dimMFA && ps.dims[d].count(mfaWithout) == 0
			for _, i := range idx {
				v := evs[i].v[d]
				if v == "" || e.seen[v] {
					continue
				}
				e.seen[v] = true
				fresh := known && sessionNews(d, v)
				for j, c := range views[:n] {
					isNew := c[d].add(v, 1)
					news[j] = isNew && fresh || news[j]
					orgNew = orgNew || j == 1 && isNew
					if j == 1 && isNew && d == dimAPI {
						sensNew[sensitiveKind(v)] = true
					}
				}
			}
			if len(e.seen) > 0 {
				for j, c := range views[:n] {
					c[d].window(news[j])
				}
				if d == dimAPI {
					for k := sensNone + 1; k < numSensKinds; k++ {
						e.sensNew[k].add(sensNew[k])
					}
					e.rootUse.add(evs[idx[0]].root)
				}
				if alwaysMFA {
					e.mfaOff.add(e.seen[mfaWithout])
				}
				if fr != nil {
					fr.n[d]++
					if orgNew {
						fr.news[d]++
					}
				}
			}
		}
		e.orgPrin.add(pkey, 1)
		for a, n := range principalCounts(evs, idx) {
			c := uint32(n)
			pv := ps.apis[a]
			if pv == nil {
				pv = &pvol{}
				ps.apis[a] = pv
			}
			pv.bins++
			pv.calls += c
			pv.peak = max(pv.peak, c)
		}
	}
}

// peer returns the account-wide counters of a peer group, made on first use.
func (e *Engine) peer(group string) *[numDims]counter {
	pc := e.peers[group]
	if pc == nil {
		pc = new([numDims]counter)
		e.peers[group] = pc
	}
	return pc
}

// top returns the most common value of a counter (ties by value) and its count.
func (c *counter) top() (string, uint32) {
	best, bc := "", uint32(0)
	for v, n := range c.vals {
		if n > bc || n == bc && v < best {
			best, bc = v, n
		}
	}
	return best, bc
}

// display turns a learned value back into what a person reads.
func display(d dim, v string) string {
	if d == dimAPI {
		return apiName(v)
	}
	return v
}

// apiName shows "s3.amazonaws.com/GetObject" as "GetObject".
func apiName(api string) string {
	if i := strings.LastIndexByte(api, '/'); i >= 0 {
		return api[i+1:]
	}
	return api
}

func durationWords(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min", int(d/time.Minute))
	}
	return d.String()
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
