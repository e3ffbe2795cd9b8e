package progcost

import (
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/packets"
	"golang.org/x/sys/unix"
)

func finish(c *results.Cost) {
	c.Ns, c.EmptyNs = stats.Median(c.Runs), stats.Median(c.EmptyRuns)
	c.Ratio = c.Ns / c.EmptyNs
}

// timed runs prog on f repeat times in one BPF_PROG_RUN and returns the
// kernel's time per run (whole ns) and the last run's action.
func timed(prog *ebpf.Program, f []byte, repeat int) (ns float64, ret uint32, err error) {
	ns, ret, _, err = timedCounting(prog, f, repeat)
	return ns, ret, err
}

// timedCounting is timed, and how often the call was started again: a
// signal (the Go runtime's, for one) stops BPF_PROG_RUN with EINTR after
// some of its runs, and the library starts it again from the first.
func timedCounting(prog *ebpf.Program, f []byte, repeat int) (ns float64, ret uint32, restarts int, err error) {
	ret, d, err := prog.Benchmark(f, repeat, func() { restarts++ })
	if err != nil {
		return 0, 0, restarts, fmt.Errorf("BPF_PROG_RUN: %w", err)
	}
	return float64(d.Nanoseconds()), ret, restarts, nil
}

type cpuRun struct {
	cpuNs    float64 // the whole call
	kernelNs float64 // per run, whole ns
	ret      uint32
	restarts int // calls cut short before this one, each after 1 to repeat runs
}

// cleanTries bounds how often cpuTimed measures a call again because it
// was cut short: its CPU time would count the runs before the cut twice.
const cleanTries = 5

// cpuTimed is timed, plus the calling thread's CPU time for the call, of
// a call that ran through without a restart (see timedCounting).
func cpuTimed(prog *ebpf.Program, f []byte, repeat int) (cpuRun, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restarts := 0
	for try := 0; ; try++ {
		before, err := threadCPU()
		if err != nil {
			return cpuRun{}, err
		}
		ns, ret, n, err := timedCounting(prog, f, repeat)
		if err != nil {
			return cpuRun{}, err
		}
		after, err := threadCPU()
		if err != nil {
			return cpuRun{}, err
		}
		if restarts += n; n == 0 || try+1 == cleanTries {
			return cpuRun{cpuNs: float64(after - before), kernelNs: ns, ret: ret, restarts: restarts}, nil
		}
		restarts++ // the whole call is measured again: its runs count too
	}
}

func threadCPU() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("read thread cpu time: %w", err)
	}
	return ts.Nano(), nil
}

func frame(t synth.Tuple, flags uint8) []byte {
	return packets.Build(packets.Spec{
		Src: t.Src, Dst: t.Dst, Proto: layers.IPProtocol(t.Proto),
		SPort: t.SPort, DPort: t.DPort, Flags: flags,
	})
}

// newFlowFrame is the k-th SYN of a flow never seen before: the allowed
// probe from another source port, or host, of the same organisation.
func newFlowFrame(allowed synth.Tuple, k int) []byte {
	t := allowed
	for i := 0; i <= k/60000; i++ {
		t.Src = t.Src.Next()
	}
	t.SPort = uint16(1024 + k%60000)
	return frame(t, packets.SYN)
}
