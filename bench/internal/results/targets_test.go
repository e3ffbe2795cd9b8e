package results

import (
	"math"
	"testing"
)

// TestGrowthCancelsHostDrift: the growth targets compare each rule count's
// cost in units of the empty program timed beside it, so a host that runs
// everything slower while the 100,000-rule column is measured does not
// read as growth, and a program that really costs more still does.
func TestGrowthCancelsHostDrift(t *testing.T) {
	cases := []struct {
		name             string
		ns10, empty10    float64
		ns100k, empty100 float64
		want             float64
		status           string
	}{
		{"host twice as slow, same program", 100, 10, 200, 20, 1, Pass},
		{"program twice as dear, same host", 100, 10, 200, 10, 2, Miss},
		{"both: only the program's share counts", 100, 10, 300, 15, 2, Miss},
		{"host faster, program a little dearer", 100, 10, 90, 7.5, 1.2, Pass},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cost := func(rules int, ns, empty float64) Cost {
				return Cost{Case: Decision, Family: 4, Rules: rules, Ns: ns, EmptyNs: empty, Ratio: ns / empty}
			}
			r := &Results{Cost: []Cost{cost(10, c.ns10, c.empty10), cost(100000, c.ns100k, c.empty100)}}
			got := growth(r, 4, Decision)
			if math.Abs(got.Value-c.want) > 1e-9 || got.Status != c.status {
				t.Errorf("growth = %v (%s), want %v (%s)", got.Value, got.Status, c.want, c.status)
			}
		})
	}
	if got := growth(&Results{}, 4, Decision); got.Status != NotMeasured {
		t.Errorf("growth without figures: %s, want %s", got.Status, NotMeasured)
	}
}
