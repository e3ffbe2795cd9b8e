package datapath

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// graceAfterFlip is how long the generation just retired stays untouched:
// a packet that read the old generation number is long finished by then
// (XDP runs to completion within one NAPI poll).
const graceAfterFlip = 100 * time.Millisecond

type flipTime struct{ at time.Time }

// PublishResult says what a publish did.
type PublishResult struct {
	Generation uint32
	Skipped    []string // ingresses whose interface is not on this host
	Entries    int
}

// Publish writes c into the generation not in use, then makes it active
// with one write of the config map: each packet sees the whole old policy
// or the whole new one. attached lists the interfaces the program is on;
// those with no organisation behind them face the services. A policy that
// does not fit is refused before any map is changed.
func (dp *Datapath) Publish(c *policy.Compiled, attached []string) (PublishResult, error) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	cfg, err := dp.readConfig()
	if err != nil {
		return PublishResult{}, err
	}
	gen := (cfg.ActiveGen + 1) & 1
	if dp.fresh && cfg.PolicyLoaded != 0 {
		gen = cfg.ActiveGen // tables nobody reads yet: the active generation, no flip
	}
	caps := dp.capacities()
	t, err := build(c, gen, caps, attached)
	if err != nil {
		return PublishResult{}, fmt.Errorf("policy refused: %w", err)
	}
	orgSlots, ruleSlots, err := dp.assignSlots(c, caps)
	if err != nil {
		return PublishResult{}, err
	}
	t.setSlots(c, orgSlots, ruleSlots)
	if err := dp.setFragQuotas(c, orgSlots); err != nil {
		return PublishResult{}, err
	}
	rated, err := dp.setRates(c, orgSlots)
	if err != nil {
		return PublishResult{}, err
	}
	if wait := graceAfterFlip - time.Since(dp.lastFlip.at); wait > 0 && !dp.fresh {
		time.Sleep(wait)
	}
	blk, err := dp.layBlocks(t, gen)
	if err != nil {
		return PublishResult{}, err
	}
	held, err := dp.clearGeneration(gen)
	if err != nil {
		return PublishResult{}, err
	}
	need := map[string]uint32{"sources": uint32(len(t.srcKeys)), "dests": uint32(len(t.dstKeys))}
	if err := dp.growFor(held, need, blk); err != nil {
		return PublishResult{}, err
	}
	if err := dp.write(t, blk); err != nil {
		return PublishResult{}, err
	}
	if err := dp.markOrgFacing(t.orgIfs, nil); err != nil {
		return PublishResult{}, err
	}
	vlans, err := HostVLANs() // read at every publish: VLANs come and go with the host's config
	if err == nil {
		err = dp.SetVLANDevices(vlans)
	}
	if err != nil {
		return PublishResult{}, err
	}
	cfg.ActiveGen, cfg.PolicyLoaded = gen, 1
	cfg.Flags &^= uint32(BoundaryPalConfigFlagsPAL_CFG_RATE_LIMITS)
	if rated {
		cfg.Flags |= uint32(BoundaryPalConfigFlagsPAL_CFG_RATE_LIMITS)
	}
	if err := dp.objs.Config.Put(uint32(0), &cfg); err != nil {
		return PublishResult{}, fmt.Errorf("activate generation %d: %w", gen, err)
	}
	if err := dp.markOrgFacing(t.orgIfs, attached); err != nil {
		return PublishResult{}, err
	}
	dp.lastFlip.at = time.Now()
	dp.published = c
	if dp.fresh { // they hold a policy now: a restart may take them over
		if err := dp.pinPolicy(); err != nil {
			return PublishResult{}, err
		}
	}
	n := len(t.ingKeys) + len(t.srcKeys) + len(t.orgVals) + len(t.rsVals) + len(t.dstKeys) + len(t.blkKeys) + len(t.portVals)
	return PublishResult{Generation: gen, Skipped: t.skipped, Entries: n}, nil
}

func (dp *Datapath) assignSlots(c *policy.Compiled, caps capacities) (map[string]uint32, map[string]uint32, error) {
	var orgs, rules, keepOrgs, keepRules []string
	for _, o := range c.Orgs {
		orgs = append(orgs, o.ID)
	}
	for _, r := range c.Rules {
		rules = append(rules, r.Name)
	}
	if p := dp.published; p != nil {
		for _, o := range p.Orgs {
			keepOrgs = append(keepOrgs, o.ID)
		}
		for _, r := range p.Rules {
			keepRules = append(keepRules, r.Name)
		}
	}
	orgSlots, err := dp.slots.assign(kindOrg, orgs, keepOrgs, caps.orgs, dp.resetOrgCounters)
	if err != nil {
		return nil, nil, fmt.Errorf("policy refused: organisation counters: %w", err)
	}
	ruleSlots, err := dp.slots.assign(kindRule, rules, keepRules, caps.ruleSlots, dp.resetRuleCounter)
	if err != nil {
		return nil, nil, fmt.Errorf("policy refused: rule counters: %w", err)
	}
	return orgSlots, ruleSlots, nil
}

// clearGeneration removes gen's entries from the hash maps and says how
// many entries each prefix hash table still holds (the other
// generation's). Array entries need no clearing: only hash entries and
// blocks of the same generation lead to them, and a publish writes its
// whole half of the blocks table.
func (dp *Datapath) clearGeneration(gen uint32) (held map[string]uint32, err error) {
	m := &dp.objs.BoundaryMaps
	held = map[string]uint32{}
	if _, err := deleteWhere[BoundaryPalIngressKey, BoundaryPalIngress](m.Ingresses, func(k *BoundaryPalIngressKey) bool { return k.Gen == gen }); err != nil {
		return nil, fmt.Errorf("clear ingresses: %w", err)
	}
	if held["sources"], err = deleteWhere[BoundaryPalSrcKey, uint32](m.Sources, func(k *BoundaryPalSrcKey) bool { return uint32(k.Gen) == gen }); err != nil {
		return nil, fmt.Errorf("clear sources: %w", err)
	}
	if held["dests"], err = deleteWhere[BoundaryPalDstKey, BoundaryPalDst](m.Dests, func(k *BoundaryPalDstKey) bool { return uint32(k.Gen) == gen }); err != nil {
		return nil, fmt.Errorf("clear destinations: %w", err)
	}
	return held, nil
}

// deleteWhere deletes the entries of m (values of type V) whose key
// matches and returns how many it left.
func deleteWhere[K, V any](m *ebpf.Map, match func(*K) bool) (uint32, error) {
	var (
		doomed []K
		kept   uint32
	)
	err := walk(m, func(k *K, _ *V) bool {
		if match(k) {
			doomed = append(doomed, *k)
		} else {
			kept++
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return kept, deleteKeys(m, doomed)
}

// deleteKeys deletes keys from m in one system call (100,000s at large
// policies and full flow tables); key by key, those already gone
// ignored, where the kernel has no batch delete for the map or one key
// went meanwhile.
func deleteKeys[K any](m *ebpf.Map, keys []K) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := m.BatchDelete(keys, nil); err == nil {
		return nil
	}
	for i := range keys {
		if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return nil
}

func (dp *Datapath) write(t *tables, blk *blockLayout) error {
	m := &dp.objs.BoundaryMaps
	steps := []struct {
		what string
		m    *ebpf.Map
		k, v any
		n    int
	}{
		{"port ranges", m.PortRanges, t.portIdx, t.portVals, len(t.portIdx)},
		{"destinations", m.Dests, t.dstKeys, t.dstVals, len(t.dstKeys)},
		{"crowded blocks' prefixes", m.BlockPrefixes, t.listIdx, t.listVals, len(t.listIdx)},
		{"prefix blocks", m.Blocks, blk.indices(), blk.half, len(blk.half)},
		{"rulesets", m.Rulesets, t.rsIdx, t.rsVals, len(t.rsIdx)},
		{"organisations", m.Orgs, t.orgIdx, t.orgVals, len(t.orgIdx)},
		{"sources", m.Sources, t.srcKeys, t.srcVals, len(t.srcKeys)},
		{"ingresses", m.Ingresses, t.ingKeys, t.ingVals, len(t.ingKeys)},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		if _, err := s.m.BatchUpdate(s.k, s.v, nil); err != nil {
			return fmt.Errorf("write %s: %w", s.what, err)
		}
	}
	return nil
}

// markOrgFacing sets the interfaces organisations come in on. Before a
// flip it only adds (both generations' interfaces are checked); after it,
// the other attached interfaces are cleared.
func (dp *Datapath) markOrgFacing(orgIfs map[uint32]bool, clearOthers []string) error {
	m := dp.objs.OrgFacing
	limit := m.MaxEntries()
	for ifindex := range orgIfs {
		if ifindex < limit {
			if err := m.Put(ifindex, uint32(1)); err != nil {
				return fmt.Errorf("mark ifindex %d organisation-facing: %w", ifindex, err)
			}
		}
	}
	for _, name := range clearOthers {
		ifindex, err := ifindexOf(name)
		if err != nil || orgIfs[uint32(ifindex)] || uint32(ifindex) >= limit {
			continue
		}
		if err := m.Put(uint32(ifindex), uint32(0)); err != nil {
			return fmt.Errorf("mark %s service-facing: %w", name, err)
		}
	}
	return nil
}
