package results

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// Budget modes (issue 17): the flow quota and the rate limits, on and off,
// measured one after another inside every run. The first mode of each case
// is its baseline; the "_again" mode is the baseline once more, after the
// other was on, and its paired ratio's range is the noise.
const (
	NoQuota      = "no_quota"       // the probes' organisation's quota written as 0: flow_quota_full returns at once
	WithQuota    = "quota"          // the quota as published (the table's size): two counter lookups per new flow
	NoQuotaAgain = "no_quota_again" // 0 again
	NoLimits     = "no_limits"      // no organisation has a rate limit: PAL_CFG_RATE_LIMITS off
	OtherLimited = "other_org_limited"
	NoLimitsBack = "no_limits_again"
	OwnLimited   = "own_org_limited" // the probes' organisation has a packet rate it never reaches
)

// BudgetModes are each budget case's modes, baseline first, in run order.
var BudgetModes = map[string][]string{
	NewFlow: {NoQuota, WithQuota, NoQuotaAgain},
	FlowHit: {NoLimits, OtherLimited, NoLimitsBack, OwnLimited},
}

// BudgetCases are the cases, in report order.
var BudgetCases = []string{NewFlow, FlowHit}

// Budgets is part 1's cost of the per-organisation budgets: what the quota
// check adds to a new flow and what rate limits add to a flow hit.
type Budgets struct {
	Rules       int          `json:"rules"`
	Family      int          `json:"family"`
	Repeat      int          `json:"repeat"`       // flow_hit: runs per call (repeat method)
	Runs        int          `json:"runs"`         // runs per figure
	Calls       int          `json:"single_calls"` // new_allowed_flow: one-run calls per mode per run (single method)
	Org         string       `json:"org"`          // the probes' organisation
	OtherOrg    string       `json:"other_org"`    // the one limited in other_org_limited
	FlowQuota   uint32       `json:"flow_quota"`   // the probes' organisation's quota in mode quota
	OwnLimitPps uint64       `json:"own_limit_pps"`
	Figures     []BudgetCost `json:"figures"`
}

// BudgetCost is one case in one mode, beside its baseline in the same runs.
type BudgetCost struct {
	Case      string    `json:"case"`
	Mode      string    `json:"mode"`
	Method    string    `json:"method"`
	Verdict   string    `json:"verdict"`
	Ns        float64   `json:"ns_per_packet"` // median of Runs
	Runs      []float64 `json:"runs_ns"`
	Spread    float64   `json:"spread"` // (max - min) / median of Runs
	Ratio     float64   `json:"ratio"`  // median of RatioRuns
	RatioMin  float64   `json:"ratio_min"`
	RatioMax  float64   `json:"ratio_max"`
	RatioRuns []float64 `json:"ratio_runs"` // run by run: this mode / the case's baseline
	// CallOverheadNs is the repeat method's fixed cost per call, taken off.
	CallOverheadNs float64 `json:"call_overhead_ns,omitempty"`
}

// FinishBudget sets a figure's summaries from its runs.
func FinishBudget(c *BudgetCost) {
	c.Ns = stats.Median(c.Runs)
	lo, hi := stats.MinMax(c.Runs)
	c.Spread = (hi - lo) / c.Ns
	c.Ratio = stats.Median(c.RatioRuns)
	c.RatioMin, c.RatioMax = stats.MinMax(c.RatioRuns)
}

func (b *Budgets) figure(cs, mode string) (BudgetCost, bool) {
	for _, f := range b.Figures {
		if f.Case == cs && f.Mode == mode {
			return f, true
		}
	}
	return BudgetCost{}, false
}

// checkBudgets checks the budget figures when a run has them (results
// written before issue 17 do not; the self-test asks for them).
func checkBudgets(r *Results) error {
	bg := r.Budgets
	if bg == nil {
		return nil
	}
	var errs []error
	for _, cs := range BudgetCases {
		base, _ := bg.figure(cs, BudgetModes[cs][0])
		for _, mode := range BudgetModes[cs] {
			f, ok := bg.figure(cs, mode)
			what := fmt.Sprintf("budgets %s %s", cs, mode)
			if !ok {
				errs = append(errs, errors.New(what+": missing"))
				continue
			}
			lo, hi := stats.MinMax(f.Runs)
			rlo, rhi := stats.MinMax(f.RatioRuns)
			switch {
			case len(f.Runs) != bg.Runs || len(f.RatioRuns) != bg.Runs || len(base.Runs) != bg.Runs:
				errs = append(errs, fmt.Errorf("%s: %d runs, want %d", what, len(f.Runs), bg.Runs))
			case !(f.Ns > 0) || !near(f.Ns, stats.Median(f.Runs)) || !near(f.Spread, (hi-lo)/f.Ns):
				errs = append(errs, errors.New(what+": figure is not the (positive) median of its runs"))
			case !near(f.Ratio, stats.Median(f.RatioRuns)) || !near(f.RatioMin, rlo) || !near(f.RatioMax, rhi):
				errs = append(errs, errors.New(what+": ratio is not the median of its runs"))
			}
			for i := range f.RatioRuns {
				if i < len(base.Runs) && i < len(f.Runs) && !near(f.RatioRuns[i], f.Runs[i]/base.Runs[i]) {
					errs = append(errs, fmt.Errorf("%s: run %d ratio is not value / baseline", what, i+1))
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

func budgetSection(b *strings.Builder, r *Results) {
	bg := r.Budgets
	if bg == nil {
		return
	}
	fmt.Fprintf(b, "## 1b. Quota and rate-limit costs (BPF_PROG_RUN, issue 17)\n\nIPv%d, %d rules, probes from %s. "+
		"new_allowed_flow: single method, %d calls per mode per run, a new flow each (kernel time, trimmed mean); "+
		"the quota is the table's size (%d) in mode quota and 0 (no check) otherwise. "+
		"flow_hit: repeat method (%d repeats, thread CPU time); the hit path has no quota check: "+
		"its modes switch the rate limits by publishing the policy with %s (other_org_limited) or %s (own_org_limited, %d packets/s, never reached) limited. "+
		"%d runs; ratio: median over runs of this mode / the case's first mode, with its min-max.\n\n",
		bg.Family, bg.Rules, bg.Org, bg.Calls, bg.FlowQuota, bg.Repeat, bg.OtherOrg, bg.Org, bg.OwnLimitPps, bg.Runs)
	b.WriteString("| case | mode | method | ns/packet | spread | / baseline | min-max | verdict |\n|---|---|---|---|---|---|---|---|\n")
	for _, cs := range BudgetCases {
		for _, mode := range BudgetModes[cs] {
			f, ok := bg.figure(cs, mode)
			if !ok {
				fmt.Fprintf(b, "| %s | %s | - | | | | | |\n", cs, mode)
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %.1f | %.1f%% | %.3f | %.3f-%.3f | %s |\n",
				cs, mode, f.Method, f.Ns, 100*f.Spread, f.Ratio, f.RatioMin, f.RatioMax, f.Verdict)
		}
	}
	b.WriteString("\n")
	for _, cs := range BudgetCases {
		modes := BudgetModes[cs]
		again, ok1 := bg.figure(cs, modes[2])
		on, ok2 := bg.figure(cs, modes[1])
		if !ok1 || !ok2 {
			continue
		}
		within := "outside"
		if on.Ratio >= again.RatioMin && on.Ratio <= again.RatioMax {
			within = "within"
		}
		fmt.Fprintf(b, "- %s: %s / %s %.3f (%.3f-%.3f), %s the noise (%s: %.3f-%.3f).\n",
			cs, modes[1], modes[0], on.Ratio, on.RatioMin, on.RatioMax, within, modes[2], again.RatioMin, again.RatioMax)
		if len(modes) > 3 {
			if own, ok := bg.figure(cs, modes[3]); ok {
				fmt.Fprintf(b, "- %s: %s / %s %.3f (%.3f-%.3f).\n", cs, modes[3], modes[0], own.Ratio, own.RatioMin, own.RatioMax)
			}
		}
	}
}
