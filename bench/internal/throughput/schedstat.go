package throughput

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuTimes are what the scheduler accounted to the receiver's NAPI
// threads: time on a CPU, and time runnable but waiting for one.
type cpuTimes struct {
	run, wait uint64 // ns
}

// napiTimes sums /proc/<pid>/schedstat over pids. Threaded NAPI runs the
// engine's whole per-packet work (XDP, and for the stack engines the
// stack and netfilter after it) in these threads, so their CPU time is
// what the engine cost, whatever else the machine ran meanwhile.
func napiTimes(pids []int) (cpuTimes, error) {
	var t cpuTimes
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			return t, fmt.Errorf("read NAPI thread %d times: %w", pid, err)
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return t, fmt.Errorf("NAPI thread %d: unexpected schedstat %q", pid, b)
		}
		run, err1 := strconv.ParseUint(f[0], 10, 64)
		wait, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return t, fmt.Errorf("NAPI thread %d: unexpected schedstat %q", pid, b)
		}
		t.run, t.wait = t.run+run, t.wait+wait
	}
	return t, nil
}
