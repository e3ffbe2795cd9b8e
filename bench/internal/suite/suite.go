// Package suite runs the whole benchmark (program cost, throughput and
// growth, compile and apply, NFQUEUE inspection, capture cost) and writes
// its results.
package suite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/applycost"
	"github.com/palisade-psn/palisade/bench/internal/inspection"
	"github.com/palisade-psn/palisade/bench/internal/progcost"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/bench/internal/throughput"
	"github.com/palisade-psn/palisade/bench/internal/trafficgen"
	"github.com/palisade-psn/palisade/pkg/capture"
)

// Params size a run.
type Params struct {
	Quick                    bool
	RuleCounts               []int
	Repeat, Runs             int
	Burst8Calls, SingleCalls int
	Rounds                   int
	Burst                    time.Duration
	Frames                   int
	ApplyRules, ApplyRuns    int
	CaptureRules             int
	Inspect                  inspection.Config
	// Parts are the parts to run (1-6; 3 comes with 2); all when empty. A
	// partial run is for tuning: its results are incomplete by design.
	Parts []int
	// Engines limits parts 2-3 to these engines (by name); all when empty.
	Engines []string
}

func (p Params) runs(part int) bool { return len(p.Parts) == 0 || slices.Contains(p.Parts, part) }

// Full is the run whose results are published: issue 6's minimums (1e6
// repeats, 9 runs, 5 rounds of 1 s) in about ten minutes on two cores.
func Full() Params {
	return Params{
		RuleCounts: []int{10, 1000, 10000, 100000}, Repeat: 1_000_000, Runs: 9,
		Burst8Calls: 100, SingleCalls: 2000, Rounds: 5, Burst: time.Second,
		Frames: trafficgen.MaxFrames, ApplyRules: 100000, ApplyRuns: 3,
		CaptureRules: 1000,
		Inspect:      inspection.Config{Load: 5 * time.Second, Flood: 3 * time.Second, Clients: 4, FlowKB: 1024, ShareFlows: 5},
	}
}

// Quick proves the harness end to end in seconds; its figures mean nothing.
func Quick() Params {
	return Params{
		Quick: true, RuleCounts: []int{10, 1000}, Repeat: 100000, Runs: 3,
		Burst8Calls: 5, SingleCalls: 50, Rounds: 2, Burst: 100 * time.Millisecond,
		Frames: 256, ApplyRules: 1000, ApplyRuns: 1,
		CaptureRules: 1000,
		Inspect:      inspection.Config{Load: time.Second, Flood: time.Second, Clients: 2, FlowKB: 64, ShareFlows: 1},
	}
}

// captureSnaplen is what a capture copies of each packet: pkg/capture's
// headers-only default.
const captureSnaplen = capture.HeaderSnaplen

// CPUs the throughput test keeps apart.
const genCPU, recvCPU = 0, 1

// Run measures everything p asks for and writes results to out. When ctx
// is done it stops at the next burst or figure and cleans up.
func Run(ctx context.Context, p Params, out string, log *slog.Logger) (*results.Results, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the benchmark needs root (BPF, network namespaces, netfilter)")
	}
	for _, t := range []string{"ip", "ethtool"} {
		if _, err := exec.LookPath(t); err != nil {
			return nil, fmt.Errorf("the benchmark needs %s (iproute2, ethtool): %w", t, err)
		}
	}
	if runtime.NumCPU() < 2 {
		return nil, fmt.Errorf("the benchmark needs 2 CPUs (generator and receiver apart); this machine has %d", runtime.NumCPU())
	}
	r := &results.Results{
		Generated: time.Now().UTC().Format(time.RFC3339), Quick: p.Quick,
		Machine: describe(), Method: p.method(),
	}
	start := loadAverage()
	if err := p.measure(ctx, r, log); err != nil {
		return nil, err
	}
	r.Machine.Load = fmt.Sprintf("%s at start, %s at end", start, loadAverage())
	r.Targets = results.Evaluate(r)
	return r, results.Write(out, r)
}

func (p Params) measure(ctx context.Context, r *results.Results, log *slog.Logger) error {
	var err error
	if p.runs(1) {
		log.Info("part 1: program cost")
		cc := progcost.Config{RuleCounts: p.RuleCounts, Repeat: p.Repeat, Runs: p.Runs,
			Burst8Calls: p.Burst8Calls, SingleCalls: p.SingleCalls, Log: log}
		if r.Cost, err = progcost.Measure(ctx, cc); err != nil {
			return err
		}
		log.Info("part 1: quota and rate-limit costs", "rules", p.CaptureRules)
		bc := progcost.BudgetConfig{Rules: p.CaptureRules, Repeat: p.Repeat, Runs: p.Runs, Calls: p.SingleCalls}
		if r.Budgets, err = progcost.MeasureBudgets(ctx, bc); err != nil {
			return fmt.Errorf("quota and rate-limit costs: %w", err)
		}
	}
	if p.runs(2) || p.runs(3) {
		log.Info("parts 2 and 3: throughput and growth")
		tc := throughput.Config{RuleCounts: p.RuleCounts, Rounds: p.Rounds, Burst: p.Burst,
			Frames: p.Frames, GenCPU: genCPU, RecvCPU: recvCPU, Engines: p.Engines, Log: log}
		if r.Throughput, r.Ratios, err = throughput.Run(ctx, tc); err != nil {
			return err
		}
		if len(p.Engines) == 0 || slices.Contains(p.Engines, results.Palisade) {
			log.Info("part 2: contention, a quiet organisation beside a flood")
			if r.Contention, err = throughput.RunContention(ctx, tc); err != nil {
				return err
			}
		}
	}
	if p.runs(4) {
		log.Info("part 4: compile and apply", "rules", p.ApplyRules)
		if r.Apply, err = applycost.Measure(p.ApplyRules, p.ApplyRuns); err != nil {
			return fmt.Errorf("compile and apply: %w", err)
		}
	}
	if p.runs(5) {
		log.Info("part 5: NFQUEUE inspection")
		ic := p.Inspect
		ic.Log = log
		if r.Inspection, err = inspection.Measure(ctx, ic); err != nil {
			return fmt.Errorf("inspection: %w", err)
		}
	}
	if p.runs(6) {
		log.Info("part 6: capture off and on", "rules", p.CaptureRules)
		capc := progcost.CaptureConfig{Rules: p.CaptureRules, Repeat: p.Repeat, OwnRepeat: p.Repeat,
			Runs: p.Runs, Snaplen: captureSnaplen}
		if r.Capture, err = progcost.MeasureCapture(ctx, capc); err != nil {
			return fmt.Errorf("capture cost: %w", err)
		}
	}
	return nil
}

func (p Params) method() results.Method {
	return results.Method{
		Orgs: synth.Orgs, RuleCounts: p.RuleCounts, CostRepeat: p.Repeat, CostRuns: p.Runs,
		Burst8Calls: p.Burst8Calls, SingleCalls: p.SingleCalls, Rounds: p.Rounds,
		BurstSeconds: p.Burst.Seconds(), FrameBytes: trafficgen.FrameLen, Frames: p.Frames,
		GenCPU: genCPU, RecvCPU: recvCPU,
	}
}
