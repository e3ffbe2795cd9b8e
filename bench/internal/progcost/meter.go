package progcost

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// XDP actions the probes must end with; a probe that ends otherwise took
// another path than the one it is named for, and its figure would lie.
const (
	xdpDrop = 1
	xdpPass = 2
)

var actionNames = map[uint32]string{0: "aborted", 1: "drop", 2: "pass", 3: "tx", 4: "redirect"}

// meter measures one published policy, beside the empty program and the
// reference programs.
type meter struct {
	cfg         Config
	prog, empty *ebpf.Program
	refs        map[string]*ebpf.Program // by case name
	rules       int
	// For the spread method: the datapath's counters tell which path the
	// runs took, the set and its compiled policy give the flows.
	dp       *datapath.Datapath
	set      *synth.Set
	compiled *policy.Compiled
	spr      *spreader
}

func (m *meter) family(fam int, p synth.Probes) ([]results.Cost, error) {
	// The SYN opens the flow; the ACK that follows is then a flow-table hit.
	if _, ret, err := timed(m.prog, frame(p.Allowed, packets.SYN), 1); err != nil || ret != xdpPass {
		return nil, fmt.Errorf("open the probe flow: action %s, %v", actionNames[ret], err)
	}
	hit := frame(p.Allowed, packets.ACK)
	repeated := []struct {
		prog  *ebpf.Program
		name  string
		frame []byte
		want  uint32
	}{
		{m.prog, results.FlowHit, hit, xdpPass},
		{m.prog, results.Decision, frame(p.Decision, packets.SYN), xdpDrop},
		{m.prog, results.Refused, frame(p.Refused, packets.SYN), xdpDrop},
		{m.refs[results.RefHash], results.RefHash, hit, xdpPass},
		{m.refs[results.RefArray], results.RefArray, hit, xdpPass},
	}
	var out []results.Cost
	for _, r := range repeated {
		c, err := m.repeated(r.prog, r.name, fam, r.frame, r.want)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	spread, err := m.spreadCases(fam)
	if err != nil {
		return nil, err
	}
	out = append(out, spread...)
	insp := frame(p.Inspected, packets.SYN)
	c, err := m.perCall(results.Inspected, results.Burst8, fam, func(int) []byte { return insp }, 8, m.cfg.Burst8Calls)
	if err != nil {
		return nil, err
	}
	out = append(out, c)
	c, err = m.perCall(results.NewFlow, results.Single, fam, func(k int) []byte { return newFlowFrame(p.Allowed, k) }, 1, m.cfg.SingleCalls)
	if err != nil {
		return nil, err
	}
	return append(out, c), nil
}

// repeated runs one frame cfg.Repeat times per call (the empty program ten
// times as many: it is ~5 ns, and every error below weighs ten times less
// on it). The figure is the thread's CPU time for the call, less the call's
// fixed cost, over the repeats. Unlike a wall clock, CPU time leaves out
// whatever else a shared machine runs meanwhile; unlike the kernel's own
// figure (kept as KernelNs) it is not cut to whole nanoseconds, too coarse
// for a ratio to ~5 ns. The fixed cost is mostly swapping the program into
// the XDP dispatcher and back (~1 ms of CPU, 1 ns a packet at 1e6 repeats):
// measured as the median of 2-repeat calls of the empty program, one per run.
func (m *meter) repeated(prog *ebpf.Program, name string, fam int, f []byte, want uint32) (results.Cost, error) {
	c := results.Cost{Case: name, Family: fam, Rules: m.rules, Method: results.Repeat}
	call := func(p *ebpf.Program, repeat int) (cpuRun, error) { return cpuTimed(p, f, repeat) }
	_, err := m.timeRuns(&c, prog, want, 10*m.cfg.Repeat, call)
	return c, err
}

// timeRuns makes the runs of a figure: in each, a 2-repeat call of the
// empty program (the call's fixed cost), emptyRepeat runs of the empty
// program and cfg.Repeat of prog, each call made by call; prog's runs
// must end with want. It fills in c's runs and figures, and returns how
// many runs of prog calls cut short and made again added (cpuTimed).
func (m *meter) timeRuns(c *results.Cost, prog *ebpf.Program, want uint32, emptyRepeat int,
	call func(*ebpf.Program, int) (cpuRun, error)) (extra uint64, err error) {
	var fixed, kernel, empty, runs []float64
	for i := 0; i < m.cfg.Runs; i++ {
		o, err := call(m.empty, 2)
		if err != nil {
			return 0, err
		}
		e, err := call(m.empty, emptyRepeat)
		if err != nil {
			return 0, err
		}
		r, err := call(prog, m.cfg.Repeat)
		if err != nil {
			return 0, err
		}
		if r.ret != want {
			return 0, fmt.Errorf("%s ended with %s, want %s", c.Case, actionNames[r.ret], actionNames[want])
		}
		c.Verdict = actionNames[r.ret]
		fixed, empty, runs = append(fixed, o.cpuNs), append(empty, e.cpuNs), append(runs, r.cpuNs)
		kernel = append(kernel, r.kernelNs)
		extra += uint64(r.restarts) * uint64(m.cfg.Repeat)
	}
	c.CallOverheadNs = stats.Median(fixed)
	for i := range runs {
		c.Runs = append(c.Runs, (runs[i]-c.CallOverheadNs)/float64(m.cfg.Repeat))
		c.EmptyRuns = append(c.EmptyRuns, (empty[i]-c.CallOverheadNs)/float64(emptyRepeat))
	}
	finish(c)
	c.KernelNs = stats.Median(kernel)
	return extra, nil
}

// perCall makes calls calls of per runs each, per run of the figure, and
// keeps the kernel's timing of each call (see stats.TrimmedMean).
func (m *meter) perCall(name, method string, fam int, frames func(int) []byte, per, calls int) (results.Cost, error) {
	c := results.Cost{Case: name, Family: fam, Rules: m.rules, Method: method}
	for run := 0; run < m.cfg.Runs; run++ {
		var e, p []float64
		for k := 0; k < calls; k++ {
			f := frames(run*calls + k)
			ens, _, err := timed(m.empty, f, per)
			if err != nil {
				return c, err
			}
			ns, ret, err := timed(m.prog, f, per)
			if err != nil {
				return c, err
			}
			if ret != xdpPass {
				return c, fmt.Errorf("%s probe ended with %s, want pass", name, actionNames[ret])
			}
			e, p = append(e, ens), append(p, ns)
		}
		c.Verdict = "pass"
		c.Runs, c.EmptyRuns = append(c.Runs, stats.TrimmedMean(p)), append(c.EmptyRuns, stats.TrimmedMean(e))
	}
	finish(&c)
	return c, nil
}
