package datapath

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Each organisation may hold its quota of the flow table (pal_org's
// flow_quota, set at publish by flowQuotaOf). The program counts the
// flows it creates and removes per organisation slot in org_flows, with
// atomic adds; the agent counts those it removes (sweep, cuts) in
// org_flows_swept, which only it writes. In use = created - removed -
// swept, in wrapping arithmetic, so the agent can also add flows it
// brings in (an upgrade's copy) by subtracting them from swept.

// removeFlows deletes flows, given with their organisation slots, and
// counts those it deleted (one the program removed meanwhile is not).
func (dp *Datapath) removeFlows(keys []BoundaryPalFlowKey, slots []uint32) error {
	gone := map[uint32]int64{}
	m := dp.objs.Flows
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
			return errors.Join(err, dp.addFlowsGone(gone))
		}
		i++
	}
	return dp.addFlowsGone(gone)
}

// addFlowsGone adds n[slot] to what the agent has removed of each slot's flows
// (a negative n: flows it added).
func (dp *Datapath) addFlowsGone(n map[uint32]int64) error {
	dp.sweptMu.Lock()
	defer dp.sweptMu.Unlock()
	m := dp.objs.OrgFlowsSwept
	for slot, d := range n {
		var v uint64
		if err := m.Lookup(slot, &v); err != nil {
			return fmt.Errorf("read flows removed of slot %d: %w", slot, err)
		}
		if err := m.Put(slot, v+uint64(d)); err != nil {
			return fmt.Errorf("count flows removed of slot %d: %w", slot, err)
		}
	}
	return nil
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
		var c BoundaryPalOrgFlows
		var swept uint64
		if err := dp.objs.OrgFlows.Lookup(org.Slot, &c); err != nil {
			return nil, fmt.Errorf("read flows of %s: %w", o.ID, err)
		}
		if err := dp.objs.OrgFlowsSwept.Lookup(org.Slot, &swept); err != nil {
			return nil, fmt.Errorf("read flows of %s: %w", o.ID, err)
		}
		use := int64(c.Created - c.Removed - swept)
		out = append(out, orgUse{o.ID, org.Slot, FlowUse{InUse: uint64(max(use, 0)), Quota: org.FlowQuota}})
	}
	return out, nil
}
