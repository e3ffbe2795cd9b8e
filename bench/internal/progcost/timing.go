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
	ret, d, err := prog.Benchmark(f, repeat, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("BPF_PROG_RUN: %w", err)
	}
	return float64(d.Nanoseconds()), ret, nil
}

type cpuRun struct {
	cpuNs    float64 // the whole call
	kernelNs float64 // per run, whole ns
	ret      uint32
}

// cpuTimed is timed, plus the calling thread's CPU time for the call.
func cpuTimed(prog *ebpf.Program, f []byte, repeat int) (cpuRun, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadCPU()
	if err != nil {
		return cpuRun{}, err
	}
	ns, ret, err := timed(prog, f, repeat)
	if err != nil {
		return cpuRun{}, err
	}
	after, err := threadCPU()
	if err != nil {
		return cpuRun{}, err
	}
	return cpuRun{cpuNs: float64(after - before), kernelNs: ns, ret: ret}, nil
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
