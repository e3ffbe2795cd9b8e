package datapath

import (
	"errors"
	"fmt"
	"time"

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

// earlyDropAfter is how long an organisation at its flow quota keeps a flow
// nobody answered: a SYN flood's flows make way for its own new ones, as
// conntrack's early drop does, and never for another organisation's.
const earlyDropAfter = 3 * time.Second

// SweepFlows removes flows idle past their timeout, and the flows nobody
// answered for earlyDropAfter of an organisation at its quota. The
// datapath already ignores idle ones; sweeping gives their room back, to
// the table and to their organisation's quota. A replied flow is never
// removed before its timeout.
func (dp *Datapath) SweepFlows() (live, removed int, err error) {
	cfg, err := dp.readConfig()
	if err != nil {
		return 0, 0, err
	}
	full, err := dp.atQuota()
	if err != nil {
		return 0, 0, err
	}
	now := monotonicNs()
	var stale []EndedFlow
	err = walk(dp.objs.Flows, func(k *BoundaryPalFlowKey, f *BoundaryPalFlow) bool {
		live++
		idle := now > f.LastSeenNs && time.Duration(now-f.LastSeenNs) > flowTimeout(f, k.Proto, &cfg)
		if idle || (full[f.OrgSlot] && unrepliedFor(f, now, earlyDropAfter)) {
			stale = append(stale, EndedFlow{*k, *f})
		}
		return true
	})
	if err != nil {
		return live, 0, fmt.Errorf("walk flows: %w", err)
	}
	defer func() { err = errors.Join(err, dp.addSwept(removed)) }()
	keys := make([]BoundaryPalFlowKey, len(stale))
	slots := make([]uint32, len(stale))
	for i := range stale {
		keys[i], slots[i] = stale[i].Key, stale[i].Flow.OrgSlot
	}
	if err := dp.removeFlows(keys, slots); err != nil {
		return live, 0, fmt.Errorf("remove idle flows: %w", err)
	}
	removed = len(stale)
	if dp.onFlowEnd != nil {
		for _, e := range stale {
			dp.onFlowEnd(e)
		}
	}
	return live - removed, removed, nil
}

// EndedFlow is a flow the sweep removed (idle, or closed by FIN/RST and
// past its closing timeout): the flow log's "end" record.
type EndedFlow struct {
	Key  BoundaryPalFlowKey
	Flow BoundaryPalFlow
}

// OnFlowEnd sets what the sweep calls for each flow it removes. Flows an
// apply cuts end without a record.
func (dp *Datapath) OnFlowEnd(fn func(EndedFlow)) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	dp.onFlowEnd = fn
}

func unrepliedFor(f *BoundaryPalFlow, now uint64, d time.Duration) bool {
	return f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_SEEN_REPLY) == 0 &&
		now > f.CreatedNs && time.Duration(now-f.CreatedNs) > d
}

// atQuota says which organisation slots hold their quota of flows.
func (dp *Datapath) atQuota() (map[uint32]bool, error) {
	dp.mu.Lock()
	orgs, err := dp.orgUse()
	dp.mu.Unlock()
	full := map[uint32]bool{}
	for _, o := range orgs {
		if o.Quota > 0 && o.InUse >= uint64(o.Quota) {
			full[o.slot] = true
		}
	}
	return full, err
}
