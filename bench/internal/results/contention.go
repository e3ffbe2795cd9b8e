package results

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// ContentionTarget is issue 17's: the quiet organisation keeps at least
// this share of its undisturbed throughput beside another's flood.
const ContentionTarget = 0.9

// Contention is part 2's contention scenario (issue 17): one organisation's
// paced allowed stream, undisturbed and beside another organisation's
// flood of refused and quota-exceeding SYNs at the generator's full rate.
type Contention struct {
	Rules         int     `json:"rules"`
	Rounds        int     `json:"rounds"`
	WindowSeconds float64 `json:"window_seconds"`
	QuietOrg      string  `json:"quiet_org"`
	FloodOrg      string  `json:"flood_org"`
	QuietPacePps  float64 `json:"quiet_pace_pps"`
	QuietFlows    int     `json:"quiet_flows"`
	FloodQuota    uint32  `json:"flood_quota"`
	FloodFrames   int     `json:"flood_frames"` // distinct: half refused by rule, half allowed ones past the quota
	// Per round: the quiet organisation's allowed packets per second of
	// window, and its generator's rate, undisturbed and flooded.
	Alone        []float64 `json:"alone_pps"`
	AloneSent    []float64 `json:"alone_sent_pps"`
	Flooded      []float64 `json:"flooded_pps"`
	FloodedSent  []float64 `json:"flooded_sent_pps"`
	FloodOffered []float64 `json:"flood_offered_pps"` // the flood generator's rate in each flooded window
	// FloodProcessed: flood frames its receiver's program saw per second
	// of each flooded window (the rest the veth refused, its ring full).
	FloodProcessed []float64 `json:"flood_processed_pps"`
	AlonePps       float64   `json:"alone_median_pps"`
	FloodedPps     float64   `json:"flooded_median_pps"`
	FloodPps       float64   `json:"flood_offered_median_pps"`
	Ratio          float64   `json:"ratio"` // median of RatioRuns
	RatioMin       float64   `json:"ratio_min"`
	RatioMax       float64   `json:"ratio_max"`
	RatioRuns      []float64 `json:"ratio_rounds"` // flooded / alone, round by round
	// What the flood got: refusals by reason, and the packets of the flows
	// its quota let it open.
	FloodRefused map[string]uint64 `json:"flood_refused"`
	FloodAllowed uint64            `json:"flood_allowed"`
	Accounting   string            `json:"accounting"`
	Checked      uint64            `json:"accounted_packets"`
}

// FinishContention sets the medians and the ratio's summary.
func FinishContention(c *Contention) {
	c.AlonePps, c.FloodedPps, c.FloodPps = stats.Median(c.Alone), stats.Median(c.Flooded), stats.Median(c.FloodOffered)
	c.Ratio = stats.Median(c.RatioRuns)
	c.RatioMin, c.RatioMax = stats.MinMax(c.RatioRuns)
}

// contentionTarget is present only in runs that have the scenario, so
// results written before it evaluate as they did.
func contentionTarget(r *Results) []Target {
	if r.Contention == nil {
		return nil
	}
	t := Target{Name: "quiet organisation beside another's flood / undisturbed (issue 17)", Want: fmt.Sprintf(">= %g", ContentionTarget),
		Limit: ContentionTarget, Source: "contention ratio, median of paired rounds"}
	return []Target{judge(t, r.Contention.Ratio, true)}
}

func checkContention(r *Results) error {
	c := r.Contention
	if c == nil {
		return nil
	}
	n := c.Rounds
	lo, hi := stats.MinMax(c.RatioRuns)
	switch {
	case len(c.Alone) != n || len(c.Flooded) != n || len(c.RatioRuns) != n || len(c.FloodOffered) != n:
		return fmt.Errorf("contention: rounds do not add up to %d", n)
	case !(c.AlonePps > 0) || !near(c.AlonePps, stats.Median(c.Alone)) || !near(c.FloodedPps, stats.Median(c.Flooded)) || !near(c.FloodPps, stats.Median(c.FloodOffered)):
		return errors.New("contention: figures are not the (positive) medians of their rounds")
	case !near(c.Ratio, stats.Median(c.RatioRuns)) || !near(c.RatioMin, lo) || !near(c.RatioMax, hi):
		return errors.New("contention: ratio is not the median of its rounds")
	case c.Accounting != "ok" || c.Checked == 0:
		return fmt.Errorf("contention: accounting %q over %d packets", c.Accounting, c.Checked)
	case c.FloodRefused["no_rule"] == 0 || c.FloodRefused["flow_quota"] == 0:
		return fmt.Errorf("contention: the flood was not refused both by rule and at its quota: %v", c.FloodRefused)
	}
	for i := range c.RatioRuns {
		if !near(c.RatioRuns[i], c.Flooded[i]/c.Alone[i]) {
			return fmt.Errorf("contention: round %d ratio is not flooded / alone", i+1)
		}
	}
	return nil
}

func contentionSection(b *strings.Builder, r *Results) {
	c := r.Contention
	if c == nil {
		return
	}
	fmt.Fprintf(b, "## 2b. Contention: a quiet organisation beside a flood (veth, issue 17)\n\n"+
		"%d rules; %s sends SYNs of %d allowed flows paced at %.0f packets/s on its own link; %s floods %d distinct SYNs at the generator's full rate on another, "+
		"half refused by its rule, half allowed ones past its flow quota of %d. One boundary program, flow table and counters; both receivers' NAPI threads on one CPU. "+
		"%d rounds of one undisturbed and one flooded %.2g s window (order rotating); ratio: flooded / undisturbed, round by round.\n\n",
		c.Rules, c.QuietOrg, c.QuietFlows, c.QuietPacePps, c.FloodOrg, c.FloodFrames, c.FloodQuota, c.Rounds, c.WindowSeconds)
	status := Miss
	if c.Ratio >= ContentionTarget {
		status = Pass
	}
	b.WriteString("| quiet pps undisturbed | quiet pps flooded | flooded / undisturbed | min-max | target | flood offered / processed pps | flood refused (rule / quota) | flood allowed | accounting |\n|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| %.0f | %.0f | %.3f | %.3f-%.3f | >= %g %s | %.0f / %.0f | %d / %d | %d | %s (%d packets) |\n",
		c.AlonePps, c.FloodedPps, c.Ratio, c.RatioMin, c.RatioMax, ContentionTarget, status, c.FloodPps, stats.Median(c.FloodProcessed),
		c.FloodRefused["no_rule"], c.FloodRefused["flow_quota"], c.FloodAllowed, c.Accounting, c.Checked)
}
