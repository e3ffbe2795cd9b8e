package results

import "fmt"

// Evaluate measures issue 6's targets against r. It only reads figures
// already in r, so a reader (and the self-test) can recompute every value.
func Evaluate(r *Results) []Target {
	var ts []Target
	for _, fam := range []int{4, 6} {
		ts = append(ts, worstHit(r, fam))
		ts = append(ts, costAt(r, fam, Decision, 100000, 4))
		ts = append(ts, growth(r, fam, Decision), growth(r, fam, Refused))
	}
	ts = append(ts,
		ratioTarget(r, Key{Palisade, 1000}, Key{NFTSet, 1000}, 3),
		ratioTarget(r, Key{Palisade, 1000}, Key{IPSet, 1000}, 5),
		ratioTarget(r, Key{Palisade, 1000}, Key{IPTablesLegacy, 1000}, 20),
		ratioTarget(r, Key{Palisade, 100000}, Key{Palisade, 10}, 0.8),
	)
	return append(ts, contentionTarget(r)...)
}

func (r *Results) cost(fam int, c string, rules int) (Cost, bool) {
	for _, x := range r.Cost {
		if x.Family == fam && x.Case == c && x.Rules == rules {
			return x, true
		}
	}
	return Cost{}, false
}

func judge(t Target, v float64, ok bool) Target {
	if !ok {
		t.Status = NotMeasured
		return t
	}
	t.Value, t.Status = v, Miss
	if (t.AtMost && v <= t.Limit) || (!t.AtMost && v >= t.Limit) {
		t.Status = Pass
	}
	return t
}

func atMost(name, source string, limit float64) Target {
	return Target{Name: name, Want: fmt.Sprintf("<= %g", limit), Limit: limit, AtMost: true, Source: source}
}

// worstHit is the flow-table hit's largest ratio over all rule counts.
func worstHit(r *Results, fam int) Target {
	t := atMost(fmt.Sprintf("flow-table hit vs empty program, IPv%d", fam), "flow_hit ratio, worst rule count", 2)
	worst, ok := 0.0, false
	for _, c := range r.Cost {
		if c.Family == fam && c.Case == FlowHit {
			worst, ok = max(worst, c.Ratio), true
		}
	}
	return judge(t, worst, ok)
}

func costAt(r *Results, fam int, c string, rules int, limit float64) Target {
	t := atMost(fmt.Sprintf("%s vs empty program at %d rules, IPv%d", c, rules, fam), c+" ratio", limit)
	x, ok := r.cost(fam, c, rules)
	return judge(t, x.Ratio, ok)
}

// growth is cost(100,000 rules) / cost(10 rules), each cost in units of the
// empty program timed beside it: the two columns are measured minutes
// apart, and a shared host's speed drifts between them (the empty program
// itself by a fifth or more), which raw ns would count as growth.
func growth(r *Results, fam int, c string) Target {
	t := atMost(fmt.Sprintf("%s cost(100000 rules) / cost(10 rules), IPv%d", c, fam), c+" ratio", 1.5)
	hi, ok1 := r.cost(fam, c, 100000)
	lo, ok2 := r.cost(fam, c, 10)
	return judge(t, hi.growthOver(lo), ok1 && ok2)
}

// growthOver is c's cost over base's, each in units of the empty program
// timed beside it: the one way the growth target and part 3's program
// rows compare rule counts.
func (c Cost) growthOver(base Cost) float64 { return c.Ratio / base.Ratio }

func ratioTarget(r *Results, num, den Key, limit float64) Target {
	t := Target{
		Name: fmt.Sprintf("throughput %s(%d rules) / %s(%d rules)", num.Engine, num.Rules, den.Engine, den.Rules),
		Want: fmt.Sprintf(">= %g", limit), Limit: limit, Source: "median paired ratio",
	}
	for _, x := range r.Ratios {
		if x.Num == num && x.Den == den {
			return judge(t, x.Median, true)
		}
	}
	return judge(t, 0, false)
}
