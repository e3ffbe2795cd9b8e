package datapath

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// Counter is a packet and byte count summed over CPUs.
type Counter struct {
	Packets, Bytes uint64
}

// RuleCounter adds when the rule last matched (CLOCK_MONOTONIC ns, 0 never).
type RuleCounter struct {
	Counter
	LastHitNs uint64
}

// Verdict names, indexed by the datapath's verdict values.
var verdictNames = [...]string{"drop", "allow", "inspect", "pass"}

// VerdictName names a datapath verdict.
func VerdictName(v BoundaryPalVerdict) string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict_%d", v)
}

// Counters reads the per-CPU counters, by name, from a loaded datapath or
// from the maps an agent pinned (OpenCounters), summed over CPUs.
type Counters struct {
	orgStats, ruleStats, dropStats, fwdStats *ebpf.Map
	slots                                    *slotRegistry
	obsStats, flows                          *ebpf.Map // nil when read from old pins
	orgRefusals                              *ebpf.Map // nil when read from old pins
}

func (dp *Datapath) counters() *Counters {
	return &Counters{dp.objs.OrgStats, dp.objs.RuleStats, dp.objs.DropStats, dp.objs.FwdStats, dp.slots,
		dp.objs.ObsStats, dp.objs.Flows, dp.objs.OrgRefusals}
}

// Counters gives the datapath's counters.
func (dp *Datapath) Counters() *Counters { return dp.counters() }

func (dp *Datapath) resetOrgCounters(slot uint32) error {
	for v := uint32(0); v < uint32(BoundaryPalVerdictPAL_VERDICT__MAX); v++ {
		if err := resetPerCPU[BoundaryPalCounter](dp.objs.OrgStats, slot*uint32(BoundaryPalVerdictPAL_VERDICT__MAX)+v); err != nil {
			return err
		}
	}
	return nil
}

func (dp *Datapath) resetRuleCounter(slot uint32) error {
	return resetPerCPU[BoundaryPalRuleCounter](dp.objs.RuleStats, slot)
}

func resetPerCPU[V any](m *ebpf.Map, idx uint32) error {
	n, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	if err := m.Put(idx, make([]V, n)); err != nil {
		return fmt.Errorf("reset counter %d of %s: %w", idx, m, err)
	}
	return nil
}

// DropCounts returns packets and bytes dropped, by reason name.
func (c *Counters) DropCounts() (map[string]Counter, error) {
	out := map[string]Counter{}
	err := readPerCPU(c.dropStats, uint32(BoundaryPalDropReasonPAL_DROP__MAX), func(r uint32, per []BoundaryPalCounter) error {
		if r != 0 { // 0: no drop
			out[DropReasonName(BoundaryPalDropReason(r))] = sum(per)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read drop counters: %w", err)
	}
	return out, nil
}

// OrgCounts returns packets and bytes by organisation and verdict name; the
// organisation "" holds what could not be tied to one.
func (c *Counters) OrgCounts() (map[string]map[string]Counter, error) {
	out := map[string]map[string]Counter{}
	names := c.slots.names(kindOrg)
	names[0] = ""
	nv := uint32(BoundaryPalVerdictPAL_VERDICT__MAX)
	err := readPerCPU(c.orgStats, (maxSlot(names)+1)*nv, func(idx uint32, per []BoundaryPalCounter) error {
		name, ok := names[idx/nv]
		if !ok {
			return nil // a slot no organisation holds
		}
		if out[name] == nil {
			out[name] = map[string]Counter{}
		}
		out[name][VerdictName(BoundaryPalVerdict(idx%nv))] = sum(per)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read organisation counters: %w", err)
	}
	return out, nil
}

// OrgRefusals returns each organisation's refusals by its budgets (flow
// and fragment quotas, rate limits), by drop reason name. Reasons never
// hit are absent.
func (c *Counters) OrgRefusals() (map[string]map[string]Counter, error) {
	out := map[string]map[string]Counter{}
	if c.orgRefusals == nil {
		return out, nil
	}
	names := c.slots.names(kindOrg)
	nr := uint32(BoundaryPalDropReasonPAL_DROP__MAX - refusalFirst)
	err := readPerCPU(c.orgRefusals, (maxSlot(names)+1)*nr, func(idx uint32, per []BoundaryPalCounter) error {
		name, ok := names[idx/nr]
		n := sum(per)
		if !ok || n.Packets == 0 {
			return nil
		}
		if out[name] == nil {
			out[name] = map[string]Counter{}
		}
		out[name][DropReasonName(refusalFirst+BoundaryPalDropReason(idx%nr))] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read organisation refusals: %w", err)
	}
	return out, nil
}

// refusalFirst is PAL_REFUSAL_FIRST: the first drop reason counted per
// organisation (org_refusals).
const refusalFirst = BoundaryPalDropReasonPAL_DROP_FLOW_QUOTA

// RuleCounts returns per-rule hits by rule name ("org/id").
func (c *Counters) RuleCounts() (map[string]RuleCounter, error) {
	out := map[string]RuleCounter{}
	names := c.slots.names(kindRule)
	if len(names) == 0 {
		return out, nil
	}
	err := readPerCPU(c.ruleStats, maxSlot(names)+1, func(slot uint32, per []BoundaryPalRuleCounter) error {
		name, ok := names[slot]
		if !ok {
			return nil
		}
		var rc RuleCounter
		for _, p := range per {
			rc.Packets += p.Packets
			rc.Bytes += p.Bytes
			rc.LastHitNs = max(rc.LastHitNs, p.LastHitNs)
		}
		out[name] = rc
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rule counters: %w", err)
	}
	return out, nil
}

func maxSlot(names map[uint32]string) uint32 {
	var hi uint32
	for s := range names {
		hi = max(hi, s)
	}
	return hi
}

func sum(per []BoundaryPalCounter) Counter {
	var c Counter
	for _, p := range per {
		c.Packets += p.Packets
		c.Bytes += p.Bytes
	}
	return c
}

// ForwardCounts returns allowed packets by the path they left on: "xdp"
// (forwarded by the program) or "stack" (handed to the kernel).
func (c *Counters) ForwardCounts() (map[string]Counter, error) {
	out := map[string]Counter{}
	names := map[uint32]string{
		uint32(BoundaryPalFwdPathPAL_FWD_STACK): "stack",
		uint32(BoundaryPalFwdPathPAL_FWD_XDP):   "xdp",
	}
	err := readPerCPU(c.fwdStats, uint32(BoundaryPalFwdPathPAL_FWD__MAX), func(path uint32, per []BoundaryPalCounter) error {
		if name, ok := names[path]; ok {
			out[name] = sum(per)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read forwarding counters: %w", err)
	}
	return out, nil
}
