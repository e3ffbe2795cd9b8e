package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Flow is what the inspector needs from a flow-table entry.
type Flow struct {
	Verdict  BoundaryPalVerdict
	RuleSlot uint32
	FailOpen bool
	OrigLo   bool // the originator is the key's lo endpoint
}

// ErrNoFlow says the flow table has no entry for a packet's 5-tuple.
var ErrNoFlow = errors.New("no flow")

// FlowKeyOf builds the flow table's key for a packet exactly as the XDP
// program does (flow_key_of): endpoints in canonical order, compared as the
// CPU reads the network-order words. srcLo says whether src is the lo end.
func FlowKeyOf(src, dst netip.Addr, sport, dport uint16, proto uint8) (k BoundaryPalFlowKey, srcLo bool) {
	s, d := words(src), words(dst)
	srcLo = sport <= dport
	for i := range s {
		if s[i] != d[i] {
			srcLo = s[i] < d[i]
			break
		}
	}
	k.Proto, k.Family = proto, 6
	if src.Is4() {
		k.Family = 4
	}
	if srcLo {
		k.LoAddr, k.HiAddr, k.LoPort, k.HiPort = s, d, sport, dport
	} else {
		k.LoAddr, k.HiAddr, k.LoPort, k.HiPort = d, s, dport, sport
	}
	return k, srcLo
}

// words lays an address out as the datapath's __u32[4]: network-order
// bytes read natively (little endian here), IPv4 in the first word only.
func words(a netip.Addr) (w [4]uint32) {
	b := a.Unmap().AsSlice()
	for i := 0; i+4 <= len(b); i += 4 {
		w[i/4] = binary.LittleEndian.Uint32(b[i:])
	}
	return w
}

// LookupFlow reads a flow's verdict, rule and failure mode.
func (dp *Datapath) LookupFlow(k BoundaryPalFlowKey) (Flow, error) {
	var f BoundaryPalFlow
	if err := dp.objs.Flows.Lookup(&k, &f); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return Flow{}, ErrNoFlow
		}
		return Flow{}, fmt.Errorf("look up flow: %w", err)
	}
	return Flow{
		Verdict:  BoundaryPalVerdict(f.Verdict),
		RuleSlot: f.RuleSlot,
		FailOpen: f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_FAIL_OPEN) != 0,
		OrigLo:   f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_ORIG_LO) != 0,
	}, nil
}

// SetFlowVerdict hands an inspected flow's verdict to XDP: ALLOW forwards
// its later packets there, DROP drops them as flow_denied. Only an existing
// entry still waiting for inspection is changed; a flow that ended or was
// reused meanwhile is left alone (ErrNoFlow). Counters the datapath bumps
// between the read and the write are lost: they are approximate by design.
func (dp *Datapath) SetFlowVerdict(k BoundaryPalFlowKey, allow bool) error {
	var f BoundaryPalFlow
	if err := dp.objs.Flows.Lookup(&k, &f); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return ErrNoFlow
		}
		return fmt.Errorf("look up flow: %w", err)
	}
	if f.Verdict != uint8(BoundaryPalVerdictPAL_VERDICT_INSPECT) {
		return nil
	}
	f.Verdict = uint8(BoundaryPalVerdictPAL_VERDICT_DROP)
	if allow {
		f.Verdict = uint8(BoundaryPalVerdictPAL_VERDICT_ALLOW)
	}
	if err := dp.objs.Flows.Update(&k, &f, ebpf.UpdateExist); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return ErrNoFlow
		}
		return fmt.Errorf("write flow verdict: %w", err)
	}
	return nil
}

// RuleName is the name ("org/id") the counter slot of a rule belongs to;
// "" for a slot no rule holds.
func (dp *Datapath) RuleName(slot uint32) string {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	k, ok := dp.slots.used[kindRule][slot]
	if !ok {
		return ""
	}
	n := k[1:]
	for i, b := range n {
		if b == 0 {
			return string(n[:i])
		}
	}
	return string(n)
}
