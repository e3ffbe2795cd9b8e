package datapath

import (
	"fmt"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// setRates writes each organisation's rate limits into org_rates (slots by
// id) and says whether any organisation has one, so that the program
// looks its bucket up only then. A bucket whose limits did not change
// keeps its state; a changed one starts full.
func (dp *Datapath) setRates(c *policy.Compiled, orgSlots map[string]uint32) (any bool, err error) {
	for _, o := range c.Orgs {
		want := [3]uint64{psPer(o.NewFlowsPerSecond), psPer(o.PacketsPerSecond), psPer(o.BytesPerSecond)}
		any = any || want != [3]uint64{}
		slot := orgSlots[o.ID]
		var r BoundaryPalRate
		if err := dp.objs.OrgRates.Lookup(slot, &r); err != nil {
			return false, fmt.Errorf("read rate limits of %s: %w", o.ID, err)
		}
		if r.CostPs == want {
			continue
		}
		if err := dp.objs.OrgRates.Put(slot, BoundaryPalRate{CostPs: want}); err != nil {
			return false, fmt.Errorf("write rate limits of %s: %w", o.ID, err)
		}
	}
	return any, nil
}

// psPer is the cost of one unit at perSecond units a second, in
// picoseconds; 0 (no limit) for 0.
func psPer(perSecond uint64) uint64 {
	if perSecond == 0 {
		return 0
	}
	return max(1, 1_000_000_000_000/perSecond)
}
