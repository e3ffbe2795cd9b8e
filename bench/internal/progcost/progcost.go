// Package progcost measures what the boundary program costs per packet with
// BPF_PROG_RUN: the real program, the real maps, a published synthetic
// policy, and beside it an empty XDP program measured the same way in the
// same run, so every figure is also a ratio to "any XDP program at all".
package progcost

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cilium/ebpf"

	"github.com/palisade-psn/palisade/bench/internal/baseline"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Config sizes a measurement.
type Config struct {
	RuleCounts []int
	Repeat     int // runs per call, repeat method (>= 1e6 for the report)
	Runs       int // runs per figure (>= 9); figures are their medians
	// Calls per run of the per-call methods. A call of more than one run
	// swaps the program into the XDP dispatcher and back, ~1.5 ms of
	// RCU grace periods, so burst8 makes fewer calls than single.
	Burst8Calls, SingleCalls int
	Log                      *slog.Logger
}

// Measure runs every case, for IPv4 and IPv6, at every rule count. It
// stops between rule counts when ctx is done.
func Measure(ctx context.Context, cfg Config) ([]results.Cost, error) {
	var empty baseline.BaselineObjects
	if err := baseline.LoadBaselineObjects(&empty, nil); err != nil {
		return nil, fmt.Errorf("load empty program: %w", err)
	}
	defer empty.Close()
	var out []results.Cost
	for _, n := range cfg.RuleCounts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cfg.Log.Info("program cost", "rules", n)
		figs, err := measureRules(cfg, n, &empty)
		if err != nil {
			return nil, fmt.Errorf("program cost at %d rules: %w", n, err)
		}
		out = append(out, figs...)
	}
	return out, nil
}

// loIngress: BPF_PROG_RUN without a context runs a frame as if received
// on the loopback device, so the organisations come in on "lo".
const loIngress = "lo"

func measureRules(cfg Config, n int, empty *baseline.BaselineObjects) ([]results.Cost, error) {
	set := synth.Generate(n)
	c := policy.Compile(set.Policy(loIngress))
	b, err := openBoundary(c)
	if err != nil {
		return nil, err
	}
	defer b.close()
	m := &meter{cfg: cfg, prog: b.dp.Program(), empty: empty.XdpPass, rules: n,
		refs: map[string]*ebpf.Program{results.RefHash: empty.RefHashLookup, results.RefArray: empty.RefArrayProbe},
		dp:   b.dp, set: set, compiled: c, spr: &spreader{objs: empty}}
	var out []results.Cost
	for _, fam := range []int{4, 6} {
		p, err := set.Probes(c, loIngress, fam)
		if err != nil {
			return nil, err
		}
		figs, err := m.family(fam, p)
		if err != nil {
			return nil, fmt.Errorf("IPv%d: %w", fam, err)
		}
		out = append(out, figs...)
	}
	return out, nil
}
