package synth

import (
	"math"
	"math/rand/v2"
)

// sizeDist is a heavy-tailed count: min + floor(exp(mu + sigma·Z)), capped at max. Bursts of
// real API traffic (terraform plans, console sessions, batch jobs) have this long right tail.
type sizeDist struct {
	mu, sigma float64
	min, max  int
}

func (d sizeDist) draw(r *rand.Rand) int {
	n := d.min + int(math.Exp(d.mu+d.sigma*r.NormFloat64()))
	if n > d.max {
		n = d.max
	}
	return n
}

// mean is the expected draw, integrated numerically so the volume calibration is exact.
func (d sizeDist) mean() float64 {
	const step = 0.002
	var sum, mass float64
	for z := -8.0; z <= 8; z += step {
		w := math.Exp(-z*z/2) * step
		n := d.min + int(math.Exp(d.mu+d.sigma*z))
		if n > d.max {
			n = d.max
		}
		sum += w * float64(n)
		mass += w
	}
	return sum / mass
}

// poisson draws a Poisson count with mean lambda (Knuth for small means, a rounded normal above).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		n := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		if n < 0 {
			return 0
		}
		return n
	}
	l := math.Exp(-lambda)
	k, p := 0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// weighted picks from a cumulative weight table.
func weighted(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// zipfCum returns cumulative weights 1/(i+1)^s: a few favourites, a long tail.
func zipfCum(n int, s float64) []float64 {
	cum := make([]float64, n)
	acc := 0.0
	for i := range cum {
		acc += 1 / math.Pow(float64(i+1), s)
		cum[i] = acc
	}
	return cum
}
