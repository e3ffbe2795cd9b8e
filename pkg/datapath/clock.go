package datapath

import "time"

// MonotonicToWall turns a datapath timestamp (CLOCK_MONOTONIC ns, as
// bpf_ktime_get_coarse_ns gives) into wall-clock time: now minus how long
// ago it was. Zero stays the zero time ("never"). The monotonic clock
// restarts at boot, as do the maps, so the two always agree.
func MonotonicToWall(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	now := monotonicNs()
	if ns > now {
		return time.Now()
	}
	return time.Now().Add(-time.Duration(now - ns))
}
