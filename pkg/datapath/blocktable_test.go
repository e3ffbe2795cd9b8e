package datapath

import (
	"math/rand/v2"
	"testing"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// TestBlocksGrowKeepTheActiveGeneration publishes a policy whose blocks
// fit the fresh table, then one that makes it grow. The generation in
// force during the growth is laid out again at the new size: made active
// again by hand, the reloaded program must still decide it as Decide
// does, and the new one too.
func TestBlocksGrowKeepTheActiveGeneration(t *testing.T) {
	h := newHarness(t)
	smallRules, bigRules := syntheticPolicy(20, 40, 11), syntheticPolicy(40, 150, 12)
	small := policy.Compile(smallRules) // ~800 blocks: the fresh table's 2,048-slot halves hold them
	big := policy.Compile(bigRules)     // ~6,000 blocks
	publish := func(c *policy.Compiled) uint32 {
		var res PublishResult
		h.routeSources(c)
		if err := h.ns.Do(func() error { var err error; res, err = h.dp.Publish(c, testIfaces); return err }); err != nil {
			t.Fatal(err)
		}
		h.policy = c
		return res.Generation
	}
	oldGen := publish(small)
	if got := h.dp.Maps().Blocks.MaxEntries(); got != initialSize {
		t.Fatalf("blocks table of %d slots after the small policy, want the fresh %d", got, initialSize)
	}
	publish(big)
	slots := h.dp.Maps().Blocks.MaxEntries()
	if slots <= initialSize {
		t.Fatalf("blocks table still of %d slots after the large policy", slots)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	compare(t, h, rng, 1000, 3000, func() policy.Query { return ruleQuery(rng, bigRules) })

	cfg, err := h.dp.readConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ActiveGen = oldGen
	if err := h.dp.objs.Config.Put(uint32(0), &cfg); err != nil {
		t.Fatal(err)
	}
	h.policy = small
	compare(t, h, rng, 10000, 3000, func() policy.Query { return ruleQuery(rng, smallRules) })
}

// TestPlaceBlocksBoundsDisplacement places keys that all share one home
// slot: eight fit (the last eight slots from home), a ninth does not, and
// a larger table takes all nine apart. Every key lies within blockProbes
// of its home with no empty slot between, where a lookup would stop.
func TestPlaceBlocksBoundsDisplacement(t *testing.T) {
	const n = 32
	var keys []BoundaryPalBlockKey
	for a := uint32(1); len(keys) < 9; a++ {
		k := BoundaryPalBlockKey{Owner: 7, Family: 4, Addr: [2]uint32{a}}
		if blockHome(&k)&(n-1) == 5 {
			keys = append(keys, k)
		}
	}
	vals := make([]BoundaryPalBlock, len(keys))
	if _, ok := placeBlocks(keys[:8], vals[:8], n); !ok {
		t.Fatal("eight keys of one home not placed in 32 slots")
	}
	if _, ok := placeBlocks(keys, vals, n); ok {
		t.Fatal("nine keys of one home placed in 32 slots: one lies beyond blockProbes")
	}
	if _, ok := placeBlocks(keys[:8], vals[:8], 8); ok {
		t.Fatal("eight keys placed in 8 slots: more than half full")
	}
	half, ok := placeBlocks(keys, vals, 256)
	if !ok {
		t.Fatal("nine keys not placed in 256 slots")
	}
	found := 0
	for pos := range half {
		s := &half[pos]
		if s.Key.Family == 0 {
			continue
		}
		found++
		home := blockHome(&s.Key) & 255
		for p := home; p != uint32(pos); p = (p + 1) & 255 {
			if half[p].Key.Family == 0 {
				t.Errorf("slot %d is empty between key %v's home %d and its slot %d", p, s.Key.Addr, home, pos)
			}
		}
		if d := (uint32(pos) - home) & 255; d >= blockProbes {
			t.Errorf("key %v lies %d slots from its home", s.Key.Addr, d)
		}
	}
	if found != len(keys) {
		t.Errorf("%d keys in the table, want %d", found, len(keys))
	}
}
