package baseline

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// history keeps the per-bin counts of one volume key over the trailing window, in a ring. It is
// advanced lazily: bins a key was silent in are zero-filled when the key is next touched.
type history struct {
	counts   []uint16
	last     int64   // the newest bin written, or -1
	peak     float64 // the highest count seen, decaying with a half-life of peakHalfLife
	peakBin  int64
	halfLife int64 // bins
}

func newHistory(size int, halfLife int64) *history {
	return &history{counts: make([]uint16, size), last: -1, halfLife: max(halfLife, 1)}
}

// advance zero-fills the ring up to bin b (exclusive of b's count, which set writes).
func (h *history) advance(b int64) {
	if h.last < 0 {
		h.last = b - 1
		return
	}
	n := int64(len(h.counts))
	if b-h.last > n {
		clear(h.counts)
	} else {
		for x := h.last + 1; x <= b; x++ {
			h.counts[x%n] = 0
		}
	}
	if b > h.last {
		h.last = b
	}
}

func (h *history) set(b int64, c int) {
	if float64(c) > h.peakAt(b) {
		h.peak, h.peakBin = float64(c), b
	}
	h.advance(b)
	if c > math.MaxUint16 {
		c = math.MaxUint16
	}
	h.counts[b%int64(len(h.counts))] = uint16(c)
}

// at returns the count of bin x, which must lie within the ring behind the newest bin.
func (h *history) at(x int64) float64 {
	n := int64(len(h.counts))
	if x > h.last || h.last-x >= n || x < 0 {
		return 0
	}
	return float64(h.counts[x%n])
}

// peakAt is the decayed peak as of bin b; halfLife is in bins.
func (h *history) peakAt(b int64) float64 {
	if h.peak == 0 {
		return 0
	}
	return h.peak * math.Exp2(-float64(b-h.peakBin)/float64(h.halfLife))
}

// band is the expected count of a bin and its spread, from a robust baseline.
type band struct {
	expected, scale, max float64
	peak                 float64 // the decayed all-time peak, for bursty keys
	n                    int     // samples behind it
	seasonal             bool
}

// daySlots is the number of bins around the same time of day that seasonal baselines look at,
// on each side.
const seasonalHalfWidth = 6

// baselineFor computes a key's expected count for bin b from its history: the same time of day
// on earlier days (same kind of day, weekday or weekend, once a week of history exists), or the
// trailing day while less than a day is known. first is the first bin of the whole data set.
func (e *Engine) baselineFor(h *history, b int64) band {
	buf := e.sampleBuf[:0]
	perDay := e.binsPerDay
	if h != nil {
		h.advance(b - 1)
	}
	get := func(x int64) float64 {
		if h == nil || x < e.firstBin {
			return 0
		}
		return h.at(x)
	}
	seasonal := b-e.firstBin >= perDay
	if seasonal {
		weekly := b-e.firstBin >= 7*perDay
		wd := e.weekend(b)
		days := 0
		for pass := 0; pass < 2 && days < 2; pass++ {
			buf = buf[:0]
			days = 0
			for d := int64(1); d <= 7; d++ {
				c := b - d*perDay
				if c-seasonalHalfWidth < e.firstBin {
					break
				}
				if pass == 0 && weekly && e.weekend(c) != wd {
					continue
				}
				days++
				for x := c - seasonalHalfWidth; x <= c+seasonalHalfWidth; x++ {
					buf = append(buf, get(x))
				}
			}
			if !weekly {
				break
			}
		}
		if days == 0 {
			seasonal = false
		}
	}
	if !seasonal {
		buf = buf[:0]
		from := max(e.firstBin, b-perDay)
		for x := from; x < b; x++ {
			buf = append(buf, get(x))
		}
	}
	e.sampleBuf = buf
	if len(buf) == 0 {
		return band{}
	}
	slices.Sort(buf)
	med := stat.Quantile(0.5, stat.Empirical, buf, nil)
	top := buf[len(buf)-1]
	dev := e.devBuf[:0]
	for _, v := range buf {
		dev = append(dev, math.Abs(v-med))
	}
	slices.Sort(dev)
	mad := stat.Quantile(0.5, stat.Empirical, dev, nil)
	e.devBuf = dev
	// Counts are Poisson-like: never trust a spread narrower than √expected, nor below one event.
	// Bursty keys (quiet most bins, busy in a few) get their spread from the upper tail too.
	q := stat.Quantile(0.995, stat.Empirical, buf, nil)
	if len(buf) >= 2 {
		// A key that burst once is not bursty: the tail needs two samples.
		q = min(q, buf[len(buf)-2])
	}
	scale := max(1.4826*mad, math.Sqrt(med), (q-med)/4, 1)
	bd := band{expected: med, scale: scale, max: top, n: len(buf), seasonal: seasonal}
	if h != nil {
		bd.peak = h.peakAt(b)
	}
	return bd
}

// spikeBits scores a count against its band: zero unless clearly above it, growing with the
// robust z-score, halved when the trailing history has already seen as much.
func spikeBits(c float64, bd band, minExcess float64) (bits, z float64) {
	if bd.n < 6 {
		return 0, 0
	}
	z = (c - bd.expected) / bd.scale
	if z < 4 || c-bd.expected < minExcess {
		return 0, z
	}
	bits = math.Min(16, 4*math.Log2(z/2))
	// A key that has burst this high before (in the trailing samples, or at its decayed peak)
	// is bursty, not anomalous.
	switch {
	case c <= bd.max || c <= bd.peak:
		bits /= 4
	case c <= 2*bd.peak:
		bits /= 2
	}
	return bits, z
}

// pvol is a principal's volume for one API: how many bins it was active in, how many calls in
// all, and the most in one bin.
type pvol struct {
	bins, calls uint32
	peak        uint32
}

// principalSpikeBits scores a principal's count of one API in a bin against its own past: the
// peak bin and twice the mean of its active bins. A first use is left to the novelty model.
// A past of a bin or two says little about what is usual, so the score grows with it: a job's
// first window of reads is no baseline for its second.
func principalSpikeBits(c int, v pvol) (bits float64, base float64) {
	if v.bins == 0 || c < 10 {
		return 0, 0
	}
	mean := float64(v.calls) / float64(v.bins)
	ref := math.Max(math.Max(float64(v.peak), 2*mean), 3)
	r := float64(c) / ref
	if r <= 1.5 {
		return 0, mean
	}
	trust := float64(v.bins) / float64(v.bins+spikeShrinkBins)
	return trust * math.Min(16, 6*math.Log2(r/1.5)), mean
}

// spikeShrinkBins is the past, in active bins of one API, at which a principal's own volume
// counts half.
const spikeShrinkBins = 4
