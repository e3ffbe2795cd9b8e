package results

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// Capture modes of part 6, in the order every run measures them. CaptureOff
// is the baseline.
const (
	CaptureOff      = "off"       // no capture has run
	CaptureOffAgain = "off_again" // a capture ran and was stopped (StopCapture)
	CaptureOther    = "other_org" // a capture of another organisation runs
	CaptureOwn      = "own_org"   // the probes' own organisation is captured
)

// CaptureModes lists them in that order: off again follows the stopped
// capture of another organisation; own last, because its reader works on
// after it.
var CaptureModes = []string{CaptureOff, CaptureOther, CaptureOffAgain, CaptureOwn}

// CaptureCases are the program-cost cases part 6 measures.
var CaptureCases = []string{FlowHit, Refused}

// Capture is part 6: what the capture feature costs the boundary program.
type Capture struct {
	Rules       int           `json:"rules"`
	Family      int           `json:"family"`
	Snaplen     uint32        `json:"snaplen"`
	Repeat      int           `json:"repeat"`
	OwnRepeat   int           `json:"own_org_repeat"` // repeats per call when the probes' organisation is captured
	Runs        int           `json:"runs"`
	CapturedOrg string        `json:"captured_org"` // the probes' organisation
	OtherOrg    string        `json:"other_org"`
	Figures     []CaptureCost `json:"figures"`
}

// CaptureCost is one case in one capture mode, beside the baseline (mode
// off) measured in the same runs.
type CaptureCost struct {
	Case      string    `json:"case"`
	Mode      string    `json:"mode"`
	Verdict   string    `json:"verdict"`
	Ns        float64   `json:"ns_per_packet"` // median of Runs
	Runs      []float64 `json:"runs_ns"`
	Spread    float64   `json:"spread"` // (max - min) / median of Runs
	Ratio     float64   `json:"ratio"`  // median of RatioRuns
	RatioMin  float64   `json:"ratio_min"`
	RatioMax  float64   `json:"ratio_max"`
	RatioRuns []float64 `json:"ratio_runs"` // run by run: this mode / off
	// Captured and Lost: the datapath's captured and capture_lost counters
	// over this mode's measured calls. Only own_org may capture, and there
	// every packet is one or the other.
	Captured       uint64  `json:"captured"`
	Lost           uint64  `json:"capture_lost"`
	CallOverheadNs float64 `json:"call_overhead_ns"`
}

// FinishCapture sets a figure's summaries from its runs.
func FinishCapture(c *CaptureCost) {
	c.Ns = stats.Median(c.Runs)
	lo, hi := stats.MinMax(c.Runs)
	c.Spread = (hi - lo) / c.Ns
	c.Ratio = stats.Median(c.RatioRuns)
	c.RatioMin, c.RatioMax = stats.MinMax(c.RatioRuns)
}

func (c *Capture) figure(cs, mode string) (CaptureCost, bool) {
	for _, f := range c.Figures {
		if f.Case == cs && f.Mode == mode {
			return f, true
		}
	}
	return CaptureCost{}, false
}

// notYetHas says whether r declares part n absent, with its reason.
func notYetHas(r *Results, part int) bool {
	for _, s := range r.NotYet {
		if strings.HasPrefix(s, fmt.Sprintf("%d. ", part)) {
			return true
		}
	}
	return false
}

func checkCapture(r *Results) error {
	c := r.Capture
	if c == nil {
		if notYetHas(r, 6) {
			return nil
		}
		return errors.New("capture (part 6): missing, and no reason given")
	}
	var errs []error
	for _, cs := range CaptureCases {
		base, _ := c.figure(cs, CaptureOff)
		for _, mode := range CaptureModes {
			f, ok := c.figure(cs, mode)
			what := fmt.Sprintf("capture %s %s", cs, mode)
			if !ok {
				errs = append(errs, errors.New(what+": missing"))
				continue
			}
			lo, hi := stats.MinMax(f.Runs)
			rlo, rhi := stats.MinMax(f.RatioRuns)
			packets := uint64(c.Runs) * uint64(c.OwnRepeat)
			switch {
			case len(f.Runs) != c.Runs || len(f.RatioRuns) != c.Runs || len(base.Runs) != c.Runs:
				errs = append(errs, fmt.Errorf("%s: %d runs, want %d", what, len(f.Runs), c.Runs))
			case !(f.Ns > 0) || !near(f.Ns, stats.Median(f.Runs)) || !near(f.Spread, (hi-lo)/f.Ns):
				errs = append(errs, errors.New(what+": figure is not the (positive) median of its runs"))
			case !near(f.Ratio, stats.Median(f.RatioRuns)) || !near(f.RatioMin, rlo) || !near(f.RatioMax, rhi):
				errs = append(errs, errors.New(what+": ratio is not the median of its runs"))
			case mode == CaptureOwn && f.Captured+f.Lost != packets:
				errs = append(errs, fmt.Errorf("%s: %d captured + %d lost, want every packet (%d)", what, f.Captured, f.Lost, packets))
			case mode != CaptureOwn && f.Captured+f.Lost != 0:
				errs = append(errs, fmt.Errorf("%s: captured %d packets of an organisation not captured", what, f.Captured+f.Lost))
			}
			for i := range f.RatioRuns {
				if i < len(base.Runs) && i < len(f.Runs) && !near(f.RatioRuns[i], f.Runs[i]/base.Runs[i]) {
					errs = append(errs, fmt.Errorf("%s: run %d ratio is not value / off", what, i+1))
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

func captureSection(b *strings.Builder, r *Results) {
	c := r.Capture
	if c == nil {
		return
	}
	fmt.Fprintf(b, "## 6. Capture off and on (BPF_PROG_RUN)\n\nIPv%d, %d rules, repeat method (%d repeats, %d when the probes' organisation is captured, x %d runs, thread CPU time). "+
		"Probes from %s; the capture is started and stopped with datapath.SetCapture and StopCapture (snaplen %d), "+
		"a reader draining the perf buffer throughout. Ratio: median over runs of this mode / off in the same run, with its min-max; "+
		"spread: (max - min) / median of the mode's own runs, the noise a single figure carries.\n\n",
		c.Family, c.Rules, c.Repeat, c.OwnRepeat, c.Runs, c.CapturedOrg, c.Snaplen)
	b.WriteString("| case | capture | ns/packet | spread | / off | min-max | verdict | captured | lost |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, cs := range CaptureCases {
		for _, mode := range CaptureModes {
			f, ok := c.figure(cs, mode)
			if !ok {
				fmt.Fprintf(b, "| %s | %s | - | | | | | | |\n", cs, mode)
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %.1f | %.1f%% | %.3f | %.3f-%.3f | %s | %d | %d |\n",
				cs, mode, f.Ns, 100*f.Spread, f.Ratio, f.RatioMin, f.RatioMax, f.Verdict, f.Captured, f.Lost)
		}
	}
	b.WriteString("\nNoise: off_again is the same configuration as off (capture slot 0), measured in the same runs after a capture of another organisation was stopped; " +
		"its paired ratio's range is what a ratio moves by with nothing changed.\n\n")
	for _, cs := range CaptureCases {
		a, ok1 := c.figure(cs, CaptureOffAgain)
		o, ok2 := c.figure(cs, CaptureOther)
		own, ok3 := c.figure(cs, CaptureOwn)
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		verdict := "outside"
		if o.Ratio >= a.RatioMin && o.Ratio <= a.RatioMax {
			verdict = "within"
		}
		fmt.Fprintf(b, "- %s: off_again / off %.3f (%.3f-%.3f); another organisation's capture %.3f, %s that noise; "+
			"capturing the packet's own organisation %.0fx (%.0f ns a packet more).\n",
			cs, a.Ratio, a.RatioMin, a.RatioMax, o.Ratio, verdict, own.Ratio, own.Ns-mustNs(c, cs))
	}
}

func mustNs(c *Capture, cs string) float64 {
	f, _ := c.figure(cs, CaptureOff)
	return f.Ns
}
