package datapath

import (
	"fmt"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// build lays out c as entries of generation gen. It touches no map: a
// policy that does not fit is refused here. Counter slots are filled in
// afterwards by setSlots.
func build(c *policy.Compiled, gen uint32, caps capacities, attached []string) (*tables, error) {
	t := &tables{orgIfs: map[uint32]bool{}, listCap: caps.blockPrefixes}
	if uint32(len(c.Orgs)) >= caps.orgs || uint32(len(c.Rulesets)) > caps.rulesets {
		return nil, fmt.Errorf("policy has %d organisations; the datapath holds %d", len(c.Orgs), caps.orgs-1)
	}
	if uint32(len(c.Rules)) >= caps.ruleSlots {
		return nil, fmt.Errorf("policy has %d rules; the datapath counts %d", len(c.Rules), caps.ruleSlots-1)
	}
	if err := t.addIngresses(c, gen, caps, attached); err != nil {
		return nil, err
	}
	for i, o := range c.Orgs {
		v := BoundaryPalOrg{Ruleset: uint32(o.Ruleset), FlowQuota: flowQuotaOf(o, caps, len(c.Orgs))}
		if o.Suspended {
			v.State = uint32(BoundaryPalOrgStatePAL_ORG_SUSPENDED)
		}
		t.orgIdx = append(t.orgIdx, gen*caps.orgs+uint32(i))
		t.orgVals = append(t.orgVals, v)
	}
	for i := range c.Rulesets {
		if err := t.addRuleset(c, i, gen, caps); err != nil {
			return nil, err
		}
	}
	if uint32(len(t.dstKeys)) > caps.dests || uint32(len(t.srcKeys)) > caps.sources {
		return nil, fmt.Errorf("policy has %d destination and %d source prefixes; the datapath holds %d and %d",
			len(t.dstKeys), len(t.srcKeys), caps.dests, caps.sources)
	}
	if uint32(len(t.blkKeys)) > caps.blocks {
		return nil, fmt.Errorf("policy's long prefixes fall in %d blocks (/%d, /%d); the datapath holds %d",
			len(t.blkKeys), block4, block6, caps.blocks)
	}
	return t, nil
}

func (t *tables) addIngresses(c *policy.Compiled, gen uint32, caps capacities, attached []string) error {
	orgIfaces := map[string]bool{}
	for id, in := range c.Ingresses {
		orgIfaces[in.Interface] = true
		ifindex, err := ifindexOf(in.Interface)
		if err != nil {
			t.skipped = append(t.skipped, ingressLabel(in))
			continue
		}
		v := BoundaryPalIngress{Id: uint32(id), Kind: uint8(BoundaryPalIngressKindPAL_INGRESS_ORGS)}
		what := "ingress " + ingressLabel(in)
		owner := BoundaryPalBlockKey{Owner: uint32(id), Gen: uint8(gen), Kind: uint8(BoundaryPalBlockKindPAL_BLOCK_SOURCES)}
		org := func(i int) (uint32, BoundaryPalDst) { return uint32(in.Sources[i].Org), BoundaryPalDst{} }
		if err := t.fillLens(&v.Lens, in.SourcePrefixes(), owner, org, caps.lens, what); err != nil {
			return err
		}
		t.orgIfs[uint32(ifindex)] = true
		t.ingKeys = append(t.ingKeys, BoundaryPalIngressKey{Ifindex: uint32(ifindex), Vlan: in.VLAN, InnerVlan: in.InnerVLAN, Gen: gen})
		t.ingVals = append(t.ingVals, v)
		for _, s := range in.Sources {
			t.srcKeys = append(t.srcKeys, BoundaryPalSrcKey{
				Ingress: uint32(id), Gen: uint8(gen), Family: family(s.Prefix.Addr()),
				Plen: uint8(s.Prefix.Bits()), Addr: addrWords(s.Prefix.Addr()),
			})
			t.srcVals = append(t.srcVals, uint32(s.Org))
		}
	}
	// Interfaces with no organisation behind them face the services: only
	// replies to known flows come in there.
	for i, name := range attached {
		if orgIfaces[name] {
			continue
		}
		ifindex, err := ifindexOf(name)
		if err != nil {
			return fmt.Errorf("attached interface %s: %w", name, err)
		}
		t.ingKeys = append(t.ingKeys, BoundaryPalIngressKey{Ifindex: uint32(ifindex), Gen: gen})
		t.ingVals = append(t.ingVals, BoundaryPalIngress{
			Id: uint32(len(c.Ingresses) + i), Kind: uint8(BoundaryPalIngressKindPAL_INGRESS_SERVICES),
		})
	}
	if uint32(len(t.ingKeys)) > caps.ingresses {
		return fmt.Errorf("policy has %d ingresses; the datapath holds %d", len(t.ingKeys), caps.ingresses)
	}
	return nil
}

// ingressLabel names an ingress in errors and skipped lists: interface,
// vlan, and a QinQ ingress's inner vlan.
func ingressLabel(in policy.Ingress) string {
	if in.InnerVLAN != 0 {
		return fmt.Sprintf("%s vlan %d inner_vlan %d", in.Interface, in.VLAN, in.InnerVLAN)
	}
	return fmt.Sprintf("%s vlan %d", in.Interface, in.VLAN)
}

func (t *tables) addRuleset(c *policy.Compiled, i int, gen uint32, caps capacities) error {
	rs := &c.Rulesets[i]
	what := fmt.Sprintf("ruleset %d", i)
	if i > 0 {
		what = "organisation " + c.Orgs[i-1].ID
	}
	first := len(t.dstVals)
	for _, d := range rs.Dests {
		var dv BoundaryPalDst
		inline := false
		for cl, ranges := range d.Ports {
			if len(ranges) == 1 && !inline { // setSlots turns the rule index into its slot
				inline, dv.One = true, portRange(c.Rules[ranges[0].Rule], ranges[0])
				dv.One.RuleSlot = uint32(ranges[0].Rule)
				dv.Lists[cl] = BoundaryPalPortList{Off: portInline, Cnt: 1}
				continue
			}
			dv.Lists[cl] = BoundaryPalPortList{Off: uint32(len(t.portVals)), Cnt: uint32(len(ranges))}
			for _, r := range ranges {
				if uint32(len(t.portVals)) >= caps.portRanges {
					return fmt.Errorf("policy needs more than %d port ranges", caps.portRanges)
				}
				t.portIdx = append(t.portIdx, gen*caps.portRanges+uint32(len(t.portVals)))
				t.portVals = append(t.portVals, portRange(c.Rules[r.Rule], r))
				t.portRule = append(t.portRule, r.Rule)
			}
		}
		t.dstKeys = append(t.dstKeys, BoundaryPalDstKey{
			Ruleset: uint32(i), Gen: uint8(gen), Family: family(d.Prefix.Addr()),
			Plen: uint8(d.Prefix.Bits()), Addr: addrWords(d.Prefix.Addr()),
		})
		t.dstVals = append(t.dstVals, dv)
	}
	var v BoundaryPalRuleset
	owner := BoundaryPalBlockKey{Owner: uint32(i), Gen: uint8(gen), Kind: uint8(BoundaryPalBlockKindPAL_BLOCK_DESTS)}
	dst := func(j int) (uint32, BoundaryPalDst) { return 0, t.dstVals[first+j] }
	if err := t.fillLens(&v.Lens, rs.DestPrefixes(), owner, dst, caps.lens, what); err != nil {
		return err
	}
	t.rsIdx = append(t.rsIdx, gen*caps.rulesets+uint32(i))
	t.rsVals = append(t.rsVals, v)
	return nil
}

// flowQuotaOf is how many flows an organisation may hold at once: its own
// limit, else the gateway's default, else a fair share of the table, so
// that no organisation can take another's room.
func flowQuotaOf(o policy.Org, caps capacities, orgs int) uint32 {
	switch {
	case o.FlowQuota > 0:
		return o.FlowQuota
	case caps.flowQuota > 0:
		return caps.flowQuota
	}
	return max(1, caps.flows/uint32(max(1, orgs)))
}

func portRange(rule policy.Rule, r policy.PortRange) BoundaryPalPortRange {
	v := BoundaryPalPortRange{Lo: r.Lo, Hi: r.Hi, Verdict: uint8(BoundaryPalVerdictPAL_VERDICT_ALLOW)}
	if rule.Verdict == policy.Inspect {
		v.Verdict = uint8(BoundaryPalVerdictPAL_VERDICT_INSPECT)
	}
	if rule.FailOpen {
		v.Flags = uint8(BoundaryPalRuleFlagsPAL_RULE_FAIL_OPEN)
	}
	return v
}

// setSlots fills in the counter slots of organisations and rules.
func (t *tables) setSlots(c *policy.Compiled, orgSlots, ruleSlots map[string]uint32) {
	for i := range t.orgVals {
		t.orgVals[i].Slot = orgSlots[c.Orgs[i].ID]
	}
	for i, r := range t.portRule {
		t.portVals[i].RuleSlot = ruleSlots[c.Rules[r].Name]
	}
	// Inline ranges hold their rule's index until here, in every copy.
	inline := func(d *BoundaryPalDst) {
		for _, l := range d.Lists {
			if l.Off == portInline {
				d.One.RuleSlot = ruleSlots[c.Rules[d.One.RuleSlot].Name]
				return
			}
		}
	}
	for i := range t.dstVals {
		inline(&t.dstVals[i])
	}
	for i := range t.blkVals {
		inline(&t.blkVals[i].Dst)
	}
	for i := range t.listVals {
		inline(&t.listVals[i].Dst)
	}
}

// portInline is PAL_PORT_INLINE: a port list that is its pal_dst's one range.
const portInline = 0xffffffff
