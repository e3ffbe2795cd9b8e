package datapath

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// monotonicNs is the clock the datapath stamps flows with.
func monotonicNs() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

func flowTimeout(f *BoundaryPalFlow, proto uint8, c *BoundaryPalConfig) time.Duration {
	s := func(v uint32) time.Duration { return time.Duration(v) * time.Second }
	fin := uint8(BoundaryPalFlowFlagsPAL_FLOW_FIN_ORIG | BoundaryPalFlowFlagsPAL_FLOW_FIN_REPLY)
	switch proto {
	case 6:
		switch {
		case f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_RST) != 0 || f.Flags&fin == fin:
			return s(c.TcpClosingTimeoutS)
		case f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_SEEN_REPLY) == 0:
			return s(c.TcpSynTimeoutS)
		}
		return s(c.TcpEstablishedTimeoutS)
	case 17:
		return s(c.UdpTimeoutS)
	}
	return s(c.IcmpTimeoutS)
}

// SweepFlows removes flows idle past their timeout. The datapath already
// ignores them; sweeping gives their room back before LRU eviction must.
func (dp *Datapath) SweepFlows() (live, removed int, err error) {
	cfg, err := dp.readConfig()
	if err != nil {
		return 0, 0, err
	}
	now := monotonicNs()
	var (
		k     BoundaryPalFlowKey
		f     BoundaryPalFlow
		stale []BoundaryPalFlowKey
	)
	it := dp.objs.Flows.Iterate()
	for it.Next(&k, &f) {
		live++
		if now > f.LastSeenNs && time.Duration(now-f.LastSeenNs) > flowTimeout(&f, k.Proto, &cfg) {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return live, 0, fmt.Errorf("walk flows: %w", err)
	}
	for _, k := range stale {
		if err := dp.objs.Flows.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return live, removed, fmt.Errorf("remove idle flow: %w", err)
		}
		removed++
	}
	return live - removed, removed, nil
}
