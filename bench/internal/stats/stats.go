// Package stats has the few summaries the benchmark reports.
package stats

import (
	"math"
	"slices"
)

// Median of xs (the mean of the middle two for an even count); NaN if empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// TrimmedMean is the mean of xs without its lowest and highest 5%: the
// kernel times single BPF_PROG_RUN calls in whole nanoseconds, so a mean
// keeps the fraction a median would round away, and trimming keeps an
// interrupt landing in one call from moving it.
func TrimmedMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	cut := len(s) / 20
	s = s[cut : len(s)-cut]
	var sum float64
	for _, x := range s {
		sum += x
	}
	return sum / float64(len(s))
}

// MinMax of xs; NaNs if empty.
func MinMax(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(xs), slices.Max(xs)
}
