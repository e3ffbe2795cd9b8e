package datapath

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// FlowOrigin is a remembered flow's first packet, as its originator sent
// it: what the policy decided when the flow started, and what a new policy
// is asked again when it is applied.
type FlowOrigin struct {
	Ifindex         int
	VLAN, InnerVLAN uint16
	Src, Dst        netip.Addr
	SrcPort         uint16
	DstPort         uint16
	Proto           uint8
	Verdict         string // allow, inspect or drop, as the flow holds it now
}

// CutFlows removes the flows that keep returns false for, and reports how
// many it kept and cut. An apply uses it so that a flow the new policy no
// longer allows ends at once instead of living on through the flow table.
func (dp *Datapath) CutFlows(keep func(FlowOrigin) bool) (kept, cut int, err error) {
	var doomed []BoundaryPalFlowKey
	var slots []uint32
	err = walk(dp.objs.Flows, func(k *BoundaryPalFlowKey, f *BoundaryPalFlow) bool {
		if keep(originOf(k, f)) {
			kept++
		} else {
			doomed, slots = append(doomed, *k), append(slots, f.OrgSlot)
		}
		return true
	})
	if err != nil {
		return kept, 0, fmt.Errorf("walk flows: %w", err)
	}
	if err := dp.removeFlows(doomed, slots); err != nil {
		return kept, 0, fmt.Errorf("cut flows: %w", err)
	}
	return kept, len(doomed), nil
}

func originOf(k *BoundaryPalFlowKey, f *BoundaryPalFlow) FlowOrigin {
	o := FlowOrigin{
		Ifindex: int(f.OrigIfindex), VLAN: f.OrigVlan, InnerVLAN: f.OrigInnerVlan, Proto: k.Proto,
		Verdict: VerdictName(BoundaryPalVerdict(f.Verdict)),
	}
	lo, hi := wordsAddr(k.LoAddr, k.Family), wordsAddr(k.HiAddr, k.Family)
	if f.Flags&uint8(BoundaryPalFlowFlagsPAL_FLOW_ORIG_LO) != 0 {
		o.Src, o.Dst, o.SrcPort, o.DstPort = lo, hi, k.LoPort, k.HiPort
	} else {
		o.Src, o.Dst, o.SrcPort, o.DstPort = hi, lo, k.HiPort, k.LoPort
	}
	return o
}

// wordsAddr undoes addrWords: network-order bytes held in native-order words.
func wordsAddr(w [4]uint32, fam uint8) netip.Addr {
	var b [16]byte
	for i, v := range w {
		binary.NativeEndian.PutUint32(b[4*i:], v)
	}
	if fam == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// SetOrgSuspended flips one organisation's state in the active policy
// generation with a single array write, without republishing the rest:
// suspension takes effect at the next packet. org is the organisation's
// index in the published policy. The next publish writes the state from
// the compiled policy, which the caller keeps in step.
func (dp *Datapath) SetOrgSuspended(org int, suspended bool) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.published == nil || org < 0 || org >= len(dp.published.Orgs) {
		return fmt.Errorf("organisation %d is not in the published policy", org)
	}
	cfg, err := dp.readConfig()
	if err != nil {
		return err
	}
	idx := cfg.ActiveGen*dp.capacities().orgs + uint32(org)
	var v BoundaryPalOrg
	if err := dp.objs.Orgs.Lookup(idx, &v); err != nil {
		return fmt.Errorf("read organisation %d: %w", org, err)
	}
	v.State = uint32(BoundaryPalOrgStatePAL_ORG_ACTIVE)
	if suspended {
		v.State = uint32(BoundaryPalOrgStatePAL_ORG_SUSPENDED)
	}
	if err := dp.objs.Orgs.Put(idx, &v); err != nil {
		return fmt.Errorf("write organisation %d state: %w", org, err)
	}
	return nil
}
