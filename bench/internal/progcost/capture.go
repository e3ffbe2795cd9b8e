package progcost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/perf"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// CaptureConfig sizes part 6: the capture feature's cost.
type CaptureConfig struct {
	Rules        int // rule count of the policy (one)
	Repeat, Runs int // as part 1's repeat method
	// OwnRepeat is the repeat count when the probes' own organisation is
	// captured (every run then writes a perf record). It must keep a call
	// well above the call's fixed cost (~1 ms) even when the records are
	// cheap: once the reader falls behind, a refused record costs little.
	OwnRepeat int
	Snaplen   uint32
}

// captureProbeOrg is the organisation every probe comes from (synth's
// probes are all organisation 0's); captureOtherOrg is the one captured
// in the "other" mode: any other organisation will do.
const captureProbeOrg, captureOtherOrg = 0, 1

// MeasureCapture runs the IPv4 flow-hit and refused probes through the real
// program in four capture modes, interleaved run by run (the order rotates):
// off (the baseline), off again after a capture was started and stopped
// through the datapath's API, a capture of another organisation, and a
// capture of the probes' own organisation with a reader draining the perf
// buffer. Each mode's figure is the median of its runs; its ratio the
// median of run-by-run ratios to the baseline in the same run.
func MeasureCapture(ctx context.Context, cfg CaptureConfig) (*results.Capture, error) {
	set := synth.Generate(cfg.Rules)
	c := policy.Compile(set.Policy(loIngress))
	b, err := openBoundary(c)
	if err != nil {
		return nil, err
	}
	defer b.close()
	own, ok1 := b.dp.OrgSlot(synth.OrgID(captureProbeOrg))
	other, ok2 := b.dp.OrgSlot(synth.OrgID(captureOtherOrg))
	if !ok1 || !ok2 {
		return nil, errors.New("capture cost: the datapath has no slot for the synthetic organisations")
	}
	p, err := set.Probes(c, loIngress, 4)
	if err != nil {
		return nil, err
	}
	if _, ret, err := timed(b.dp.Program(), frame(p.Allowed, packets.SYN), 1); err != nil || ret != xdpPass {
		return nil, fmt.Errorf("open the probe flow: action %s, %v", actionNames[ret], err)
	}
	// The reader exists for the whole measurement, as it does while a
	// capture runs; it drains on another thread and discards.
	rd, err := b.dp.CaptureReader(int(max(cfg.Snaplen*64, 1<<18)))
	if err != nil {
		return nil, err
	}
	var (
		wg   sync.WaitGroup
		seen atomic.Uint64 // records and lost samples the reader got
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			rec, err := rd.Read()
			if errors.Is(err, perf.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			if err == nil {
				seen.Add(max(rec.LostSamples, 1))
			}
		}
	}()
	// drained waits (bounded) until the reader has caught up with what the
	// datapath wrote, so that the next figure does not share the machine
	// with it.
	var written uint64
	drained := func(n uint64) {
		written += n
		_ = rd.Flush() // the last records, fewer than wake the reader
		for i := 0; i < 200 && seen.Load() < written; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	defer func() { rd.Close(); wg.Wait() }()
	out := &results.Capture{Rules: cfg.Rules, Family: 4, Snaplen: cfg.Snaplen, Repeat: cfg.Repeat, OwnRepeat: cfg.OwnRepeat, Runs: cfg.Runs,
		CapturedOrg: synth.OrgID(captureProbeOrg), OtherOrg: synth.OrgID(captureOtherOrg)}
	cases := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{results.FlowHit, frame(p.Allowed, packets.ACK), xdpPass},
		{results.Refused, frame(p.Refused, packets.SYN), xdpDrop},
	}
	set4 := map[string]func() error{
		results.CaptureOff:      b.dp.StopCapture,
		results.CaptureOffAgain: b.dp.StopCapture,
		results.CaptureOther:    func() error { return b.dp.SetCapture(other, cfg.Snaplen) },
		results.CaptureOwn:      func() error { return b.dp.SetCapture(own, cfg.Snaplen) },
	}
	for _, cs := range cases {
		figs := map[string]*results.CaptureCost{}
		for _, mode := range results.CaptureModes {
			figs[mode] = &results.CaptureCost{Case: cs.name, Mode: mode}
		}
		var fixed []float64
		raw := map[string][]float64{}
		for run := 0; run < cfg.Runs; run++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			o, err := cpuTimed(b.dp.Program(), cs.frame, 2)
			if err != nil {
				return nil, err
			}
			fixed = append(fixed, o.cpuNs)
			// Off, a capture of another organisation, off again once that
			// capture is stopped, the own organisation's (results.CaptureModes).
			for _, mode := range results.CaptureModes {
				repeat := cfg.Repeat
				if mode == results.CaptureOwn {
					repeat = cfg.OwnRepeat
				}
				if err := set4[mode](); err != nil {
					return nil, fmt.Errorf("capture %s: %w", mode, err)
				}
				before, err := b.dp.Counters().ObsCounts()
				if err != nil {
					return nil, err
				}
				r, err := cpuTimed(b.dp.Program(), cs.frame, repeat)
				if err != nil {
					return nil, err
				}
				after, err := b.dp.Counters().ObsCounts()
				if err != nil {
					return nil, err
				}
				if r.ret != cs.want {
					return nil, fmt.Errorf("%s probe with capture %s ended with %s, want %s", cs.name, mode, actionNames[r.ret], actionNames[cs.want])
				}
				f := figs[mode]
				f.Verdict = actionNames[r.ret]
				f.Captured += after["captured"] - before["captured"]
				f.Lost += after["capture_lost"] - before["capture_lost"]
				raw[mode] = append(raw[mode], r.cpuNs)
				drained(after["captured"] - before["captured"] + after["capture_lost"] - before["capture_lost"])
			}
		}
		if err := b.dp.StopCapture(); err != nil {
			return nil, err
		}
		for _, mode := range results.CaptureModes {
			f := figs[mode]
			f.CallOverheadNs = stats.Median(fixed)
			repeat := cfg.Repeat
			if mode == results.CaptureOwn {
				repeat = cfg.OwnRepeat
			}
			for _, ns := range raw[mode] {
				f.Runs = append(f.Runs, (ns-f.CallOverheadNs)/float64(repeat))
			}
		}
		for _, mode := range results.CaptureModes {
			f := figs[mode]
			for i := range f.Runs {
				f.RatioRuns = append(f.RatioRuns, f.Runs[i]/figs[results.CaptureOff].Runs[i])
			}
			results.FinishCapture(f)
			out.Figures = append(out.Figures, *f)
		}
	}
	return out, nil
}
