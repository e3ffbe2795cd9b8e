package progcost

import (
	"context"
	"errors"
	"fmt"

	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// BudgetConfig sizes the cost of issue 17's budgets (part 1).
type BudgetConfig struct {
	Rules        int
	Repeat, Runs int // flow_hit: the repeat method's
	Calls        int // new_allowed_flow: one-run calls per mode per run
}

// ownLimitPps is a packet rate the probes' organisation gets in mode
// own_org_limited: every packet takes the bucket's lock, none is refused
// (a repeated run is ~50 ns, a packet's cost in the bucket 1 ns).
const ownLimitPps = 1_000_000_000

// MeasureBudgets measures what the flow quota costs a new flow, and what
// rate limits cost a flow hit, each against the same program without it,
// mode by mode inside every run. There is no build without the quota
// check; a quota of 0 is the program's "no limit" (flow_quota_full returns
// before any lookup), which no policy publishes (an organisation without
// a quota of its own gets a fair share), so the bench writes it into the
// organisation's entry itself. Rate limits are switched as an operator
// would: by publishing a policy that has them.
func MeasureBudgets(ctx context.Context, cfg BudgetConfig) (*results.Budgets, error) {
	set := synth.Generate(cfg.Rules)
	c := policy.Compile(set.Policy(loIngress))
	b, err := openBoundary(c)
	if err != nil {
		return nil, err
	}
	defer b.close()
	p, err := set.Probes(c, loIngress, 4)
	if err != nil {
		return nil, err
	}
	out := &results.Budgets{Rules: cfg.Rules, Family: 4, Repeat: cfg.Repeat, Runs: cfg.Runs, Calls: cfg.Calls,
		Org: synth.OrgID(captureProbeOrg), OtherOrg: synth.OrgID(captureOtherOrg), OwnLimitPps: ownLimitPps}
	nf, err := newFlowQuota(ctx, b, p.Allowed, cfg, out)
	if err != nil {
		return nil, fmt.Errorf("new flow with and without the quota: %w", err)
	}
	hit, err := hitRateLimits(ctx, b, set, c, p.Allowed, cfg)
	if err != nil {
		return nil, fmt.Errorf("flow hit with and without rate limits: %w", err)
	}
	out.Figures = append(nf, hit...)
	return out, nil
}

// quotaEntries finds the probes' organisation's entries in the orgs map
// (both generations), with the quota each holds.
func quotaEntries(dp *datapath.Datapath) (map[uint32]datapath.BoundaryPalOrg, error) {
	slot, ok := dp.OrgSlot(synth.OrgID(captureProbeOrg))
	if !ok {
		return nil, errors.New("the datapath has no slot for the probes' organisation")
	}
	orgs := dp.Maps().Orgs
	out := map[uint32]datapath.BoundaryPalOrg{}
	for i := uint32(0); i < orgs.MaxEntries(); i++ {
		var o datapath.BoundaryPalOrg
		if err := orgs.Lookup(i, &o); err != nil {
			return nil, fmt.Errorf("read orgs[%d]: %w", i, err)
		}
		if o.Slot == slot && o.FlowQuota != 0 {
			out[i] = o
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the probes' organisation has no quota to switch off")
	}
	return out, nil
}

func setQuota(dp *datapath.Datapath, entries map[uint32]datapath.BoundaryPalOrg, on bool) error {
	for i, o := range entries {
		if !on {
			o.FlowQuota = 0
		}
		if err := dp.Maps().Orgs.Put(i, o); err != nil {
			return fmt.Errorf("write orgs[%d]: %w", i, err)
		}
	}
	return nil
}

// newFlowQuota runs cfg.Calls new flows per mode per run, each its own
// call (as new_allowed_flow in part 1), then removes them through the
// datapath so that the organisation's count of flows stays far from its
// quota and the table from full.
func newFlowQuota(ctx context.Context, b *boundary, allowed synth.Tuple, cfg BudgetConfig, out *results.Budgets) ([]results.BudgetCost, error) {
	entries, err := quotaEntries(b.dp)
	if err != nil {
		return nil, err
	}
	defer setQuota(b.dp, entries, true)
	for _, o := range entries {
		out.FlowQuota = o.FlowQuota
	}
	modes := results.BudgetModes[results.NewFlow]
	raw := map[string][]float64{}
	k := 0
	for run := 0; run < cfg.Runs; run++ {
		for _, mode := range modes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := setQuota(b.dp, entries, mode == results.WithQuota); err != nil {
				return nil, err
			}
			var ns []float64
			for i := 0; i < cfg.Calls; i++ {
				t, ret, err := timed(b.dp.Program(), newFlowFrame(allowed, k), 1)
				k++
				if err != nil {
					return nil, err
				}
				if ret != xdpPass {
					return nil, fmt.Errorf("new flow (%s) ended with %s, want pass", mode, actionNames[ret])
				}
				ns = append(ns, t)
			}
			raw[mode] = append(raw[mode], stats.TrimmedMean(ns))
		}
		// Every flow but the hit probe's goes, counted as the agent's
		// removals, so that the quota is never reached.
		if _, _, err := b.dp.CutFlows(func(o datapath.FlowOrigin) bool { return o.SrcPort == allowed.SPort && o.Src == allowed.Src }); err != nil {
			return nil, err
		}
	}
	return paired(results.NewFlow, results.Single, "pass", modes, raw, 0), nil
}

// hitRateLimits measures the flow-hit ACK with the rate limits each mode
// publishes; every run must pass, none be refused.
func hitRateLimits(ctx context.Context, b *boundary, set *synth.Set, c *policy.Compiled, allowed synth.Tuple, cfg BudgetConfig) ([]results.BudgetCost, error) {
	if _, ret, err := timed(b.dp.Program(), frame(allowed, packets.SYN), 1); err != nil || ret != xdpPass {
		return nil, fmt.Errorf("open the probe flow: action %s, %v", actionNames[ret], err)
	}
	hit := frame(allowed, packets.ACK)
	policies := map[string]*policy.Compiled{
		results.NoLimits:     c,
		results.NoLimitsBack: c,
		results.OtherLimited: withPacketLimit(set, captureOtherOrg, ownLimitPps),
		results.OwnLimited:   withPacketLimit(set, captureProbeOrg, ownLimitPps),
	}
	defer b.dp.Publish(c, nil)
	modes := results.BudgetModes[results.FlowHit]
	raw := map[string][]float64{}
	var fixed []float64
	before, err := b.dp.Counters().DropCounts()
	if err != nil {
		return nil, err
	}
	for run := 0; run < cfg.Runs; run++ {
		o, err := cpuTimed(b.dp.Program(), hit, 2)
		if err != nil {
			return nil, err
		}
		fixed = append(fixed, o.cpuNs)
		for _, mode := range modes {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if _, err := b.dp.Publish(policies[mode], nil); err != nil {
				return nil, fmt.Errorf("publish (%s): %w", mode, err)
			}
			r, err := cpuTimed(b.dp.Program(), hit, cfg.Repeat)
			if err != nil {
				return nil, err
			}
			if r.ret != xdpPass {
				return nil, fmt.Errorf("flow hit (%s) ended with %s, want pass", mode, actionNames[r.ret])
			}
			raw[mode] = append(raw[mode], r.cpuNs)
		}
	}
	after, err := b.dp.Counters().DropCounts()
	if err != nil {
		return nil, err
	}
	for reason, n := range after {
		if n.Packets != before[reason].Packets {
			return nil, fmt.Errorf("%d flow hits refused as %s", n.Packets-before[reason].Packets, reason)
		}
	}
	overhead := stats.Median(fixed)
	for _, mode := range modes {
		for i, ns := range raw[mode] {
			raw[mode][i] = (ns - overhead) / float64(cfg.Repeat)
		}
	}
	return paired(results.FlowHit, results.Repeat, "pass", modes, raw, overhead), nil
}

// withPacketLimit is the set's policy with organisation org limited to
// pps packets a second, compiled: what an operator's limits: block gives.
func withPacketLimit(set *synth.Set, org int, pps uint64) *policy.Compiled {
	p := set.Policy(loIngress)
	for _, o := range p.Orgs {
		if o.ID == synth.OrgID(org) {
			o.Limits = &rules.Limits{PacketsPerSecond: pps}
		}
	}
	return policy.Compile(p)
}

// paired turns each mode's runs into figures, each run's ratio taken to
// the first mode's same run.
func paired(cs, method, verdict string, modes []string, raw map[string][]float64, overhead float64) []results.BudgetCost {
	var out []results.BudgetCost
	base := raw[modes[0]]
	for _, mode := range modes {
		f := results.BudgetCost{Case: cs, Mode: mode, Method: method, Verdict: verdict, Runs: raw[mode], CallOverheadNs: overhead}
		for i, ns := range f.Runs {
			f.RatioRuns = append(f.RatioRuns, ns/base[i])
		}
		results.FinishBudget(&f)
		out = append(out, f)
	}
	return out
}
