package throughput

import (
	"slices"

	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// Ratios pairs figures round by round, per receiver CPU second and per
// second of burst: Palisade against every other engine
// at the same rule count, and every engine against itself at its smallest
// rule count (its cost growth). A round's ratio compares two bursts sent
// seconds apart, so a machine that slows down over the run slows both.
func Ratios(ts []results.Throughput) []results.Ratio {
	by := map[results.Key]results.Throughput{}
	smallest := map[string]int{}
	for _, t := range ts {
		if t.Absent != "" {
			continue
		}
		by[results.Key{Engine: t.Engine, Rules: t.Rules}] = t
		if s, ok := smallest[t.Engine]; !ok || t.Rules < s {
			smallest[t.Engine] = t.Rules
		}
	}
	var out []results.Ratio
	for _, t := range ts {
		num := results.Key{Engine: results.Palisade, Rules: t.Rules}
		if t.Engine != results.Palisade || t.Absent != "" {
			continue
		}
		for _, d := range ts {
			den := results.Key{Engine: d.Engine, Rules: d.Rules}
			if d.Engine != results.Palisade && (d.Rules == t.Rules || d.Rules == 0) {
				out = appendRatio(out, by, num, den)
			}
		}
	}
	for _, t := range ts {
		if t.Rules > smallest[t.Engine] {
			out = appendRatio(out, by, results.Key{Engine: t.Engine, Rules: t.Rules},
				results.Key{Engine: t.Engine, Rules: smallest[t.Engine]})
		}
	}
	return out
}

func appendRatio(out []results.Ratio, by map[results.Key]results.Throughput, num, den results.Key) []results.Ratio {
	n, okN := by[num]
	d, okD := by[den]
	if !okN || !okD || len(n.Rounds) != len(d.Rounds) || len(n.Rounds) == 0 {
		return out
	}
	if slices.Contains(d.Rounds, 0) || slices.Contains(d.CPURounds, 0) {
		return out // a round in which the denominator passed nothing: no ratio
	}
	r := results.Ratio{Num: num, Den: den}
	for i := range n.Rounds {
		r.Rounds = append(r.Rounds, n.CPURounds[i]/d.CPURounds[i])
		r.WallRounds = append(r.WallRounds, n.Rounds[i]/d.Rounds[i])
	}
	r.Median, r.WallMedian = stats.Median(r.Rounds), stats.Median(r.WallRounds)
	r.Min, r.Max = stats.MinMax(r.Rounds)
	return append(out, r)
}
