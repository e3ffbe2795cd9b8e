package datapath

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Each organisation may hold its quota of the flow table (pal_org's
// flow_quota, set at publish by flowQuotaOf) and of the fragment table
// (org_agent's frag_quota, set at publish to a fair share). The program
// counts the entries it creates and removes per organisation slot in
// org_counts, with atomic adds; the agent counts those it removes (sweep,
// cuts) in org_agent, which only it writes. In use = created - removed -
// swept, in wrapping arithmetic, so the agent can also add entries it
// brings in (an upgrade's copy) by subtracting them from swept.

// removeFlows deletes flows, given with their organisation slots, and
// counts those it deleted (one the program removed meanwhile is not).
func (dp *Datapath) removeFlows(keys []BoundaryPalFlowKey, slots []uint32) error {
	gone, err := deleteCounted(dp.objs.Flows, keys, slots)
	return errors.Join(err, dp.addFlowsGone(gone))
}

// deleteCounted deletes keys from m and counts, by slots[i], those it
// deleted.
func deleteCounted[K any](m *ebpf.Map, keys []K, slots []uint32) (map[uint32]int64, error) {
	gone := map[uint32]int64{}
	for i := 0; i < len(keys); {
		n, err := m.BatchDelete(keys[i:], nil)
		for _, s := range slots[i : i+n] {
			gone[s]++
		}
		i += n
		if err == nil {
			break
		}
		// keys[i] stopped the batch: gone already, or no batch support.
		if err := m.Delete(&keys[i]); err == nil {
			gone[slots[i]]++
		} else if !errors.Is(err, ebpf.ErrKeyNotExist) {
			return gone, err
		}
		i++
	}
	return gone, nil
}

// addFlowsGone adds n[slot] to what the agent has removed of each slot's
// flows (a negative n: flows it added).
func (dp *Datapath) addFlowsGone(n map[uint32]int64) error {
	return dp.updateAgent(n, func(a *BoundaryPalOrgAgent, d int64) { a.FlowsSwept += uint64(d) })
}

// updateAgent applies f to org_agent's entry of each slot in n.
func (dp *Datapath) updateAgent(n map[uint32]int64, f func(*BoundaryPalOrgAgent, int64)) error {
	dp.agentMu.Lock()
	defer dp.agentMu.Unlock()
	m := dp.objs.OrgAgent
	for slot, d := range n {
		var a BoundaryPalOrgAgent
		if err := m.Lookup(slot, &a); err != nil {
			return fmt.Errorf("read organisation slot %d's quotas: %w", slot, err)
		}
		f(&a, d)
		if err := m.Put(slot, &a); err != nil {
			return fmt.Errorf("write organisation slot %d's quotas: %w", slot, err)
		}
	}
	return nil
}

// setFragQuotas gives each organisation of c (slots by id) its own
// fragment limit, else a fair share of the fragment table.
func (dp *Datapath) setFragQuotas(c *policy.Compiled, orgSlots map[string]uint32) error {
	share := int64(max(1, dp.objs.Frags.MaxEntries()/uint32(max(1, len(c.Orgs)))))
	n := map[uint32]int64{}
	for _, o := range c.Orgs {
		n[orgSlots[o.ID]] = share
		if o.FragQuota > 0 {
			n[orgSlots[o.ID]] = int64(o.FragQuota)
		}
	}
	return dp.updateAgent(n, func(a *BoundaryPalOrgAgent, q int64) { a.FragQuota = uint32(q) })
}

// SweepFragments removes first fragments past the fragment timeout,
// giving their room back to their organisation's fragment quota (the
// program removes one when a later fragment finds it expired).
func (dp *Datapath) SweepFragments() (removed int, err error) {
	cfg, err := dp.readConfig()
	if err != nil {
		return 0, err
	}
	now := monotonicNs()
	limit := uint64(cfg.FragTimeoutS) * 1e9
	var keys []BoundaryPalFragKey
	var slots []uint32
	var k BoundaryPalFragKey
	var v BoundaryPalFrag
	it := dp.objs.Frags.Iterate()
	for it.Next(&k, &v) {
		if now > v.CreatedNs && now-v.CreatedNs > limit {
			keys, slots = append(keys, k), append(slots, v.OrgSlot)
		}
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("walk fragments: %w", err)
	}
	gone, err := deleteCounted(dp.objs.Frags, keys, slots)
	for _, g := range gone {
		removed += int(g)
	}
	return removed, errors.Join(err, dp.updateAgent(gone, func(a *BoundaryPalOrgAgent, d int64) { a.FragsSwept += uint64(d) }))
}

// FlowUse is what an organisation holds of the flow table.
type FlowUse struct {
	InUse uint64 `json:"in_use"`
	Quota uint32 `json:"quota"`
}

// FlowUse reads each published organisation's flows in use against its
// quota, by organisation id.
func (dp *Datapath) FlowUse() (map[string]FlowUse, error) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	orgs, err := dp.orgUse()
	if err != nil {
		return nil, err
	}
	out := map[string]FlowUse{}
	for _, o := range orgs {
		out[o.id] = o.FlowUse
	}
	return out, nil
}

type orgUse struct {
	id   string
	slot uint32
	FlowUse
}

// orgUse reads the published organisations' flows in use and quotas.
// dp.mu is held.
func (dp *Datapath) orgUse() ([]orgUse, error) {
	var out []orgUse
	if dp.published == nil {
		return out, nil
	}
	cfg, err := dp.readConfig()
	if err != nil {
		return nil, err
	}
	caps := dp.capacities()
	for i, o := range dp.published.Orgs {
		var org BoundaryPalOrg
		if err := dp.objs.Orgs.Lookup(cfg.ActiveGen*caps.orgs+uint32(i), &org); err != nil {
			return nil, fmt.Errorf("read organisation %s: %w", o.ID, err)
		}
		use, err := flowsInUse(dp.objs.OrgCounts, dp.objs.OrgAgent, org.Slot)
		if err != nil {
			return nil, fmt.Errorf("read flows of %s: %w", o.ID, err)
		}
		out = append(out, orgUse{o.ID, org.Slot, FlowUse{InUse: use, Quota: org.FlowQuota}})
	}
	return out, nil
}
