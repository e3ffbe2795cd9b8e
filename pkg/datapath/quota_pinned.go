package datapath

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// FlowUse reads each organisation's flows in use against its quota from
// the pinned maps, as (*Datapath).FlowUse does for the agent, for
// `palisade status` when no agent runs. Without the agent the policy's
// list of organisations is unknown: the active generation's organisation
// entries are read up to the first empty one, named from the slot
// registry. Entries past the policy's end, left by a larger policy two
// applies ago, may add an organisation since removed (with its quota and,
// its flows cut, nothing in use).
func (p *Pinned) FlowUse() (map[string]FlowUse, error) {
	ms, err := p.loadMaps("orgs", "org_counts", "org_agent")
	if err != nil {
		return nil, err
	}
	defer closeMaps(ms)
	orgs, counts, agent := ms[0], ms[1], ms[2]
	var cfg BoundaryPalConfig
	if err := p.config.Lookup(uint32(0), &cfg); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	names := p.counters.slots.names(kindOrg)
	perGen := orgs.MaxEntries() / 2
	out := map[string]FlowUse{}
	for i := uint32(0); i < perGen; i++ {
		var o BoundaryPalOrg
		if err := orgs.Lookup(cfg.ActiveGen*perGen+i, &o); err != nil {
			return nil, fmt.Errorf("read organisation entry %d: %w", i, err)
		}
		if o.Slot == 0 { // never given out: past the policy's organisations
			break
		}
		name, ok := names[o.Slot]
		if _, dup := out[name]; !ok || dup {
			continue // the first entry of a slot is the current one
		}
		use, err := flowsInUse(counts, agent, o.Slot)
		if err != nil {
			return nil, fmt.Errorf("read flows of %s: %w", name, err)
		}
		out[name] = FlowUse{InUse: use, Quota: o.FlowQuota}
	}
	return out, nil
}

// FlowTableSize is the pinned flow table's size.
func (p *Pinned) FlowTableSize() (uint32, error) {
	ms, err := p.loadMaps("flows")
	if err != nil {
		return 0, err
	}
	defer closeMaps(ms)
	return ms[0].MaxEntries(), nil
}

// flowsInUse is what an organisation slot holds of the flow table: the
// program's created - removed, less what the agent removed (quota.go);
// the agent's datapath and the pinned reader both count this way.
func flowsInUse(counts, agent *ebpf.Map, slot uint32) (uint64, error) {
	var c BoundaryPalOrgCounts
	var a BoundaryPalOrgAgent
	if err := counts.Lookup(slot, &c); err != nil {
		return 0, err
	}
	if err := agent.Lookup(slot, &a); err != nil {
		return 0, err
	}
	return uint64(max(int64(c.FlowsCreated-c.FlowsRemoved-a.FlowsSwept), 0)), nil
}

// loadMaps opens pinned maps read-only, all or none: maps pinned by an
// agent older than issue 17 lack the quota ones.
func (p *Pinned) loadMaps(names ...string) ([]*ebpf.Map, error) {
	var ms []*ebpf.Map
	for _, n := range names {
		m, err := ebpf.LoadPinnedMap(filepath.Join(p.PinPath, n), &ebpf.LoadPinOptions{ReadOnly: true})
		if err != nil {
			closeMaps(ms)
			return nil, fmt.Errorf("open pinned map %s: %w", n, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func closeMaps(ms []*ebpf.Map) error {
	var errs []error
	for _, m := range ms {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}
