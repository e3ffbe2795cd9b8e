package datapath

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// Capacities of the compiled object, read off its maps so they are
// written down once, in bpf/abi.h; the tables sized to the policy grow up
// to their compiled-in capacity (resize.go).
type capacities struct {
	orgs, rulesets, portRanges, ruleSlots, lens uint32
	ingresses, sources, dests, blocks           uint32
	blockPrefixes                               uint32 // listed by crowded blocks
	flows                                       uint32 // the flow table's entries
	flowQuota                                   uint32 // each organisation's by default; 0: a fair share
}

func (dp *Datapath) capacities() capacities {
	m := &dp.objs.BoundaryMaps
	return capacities{
		orgs:       m.Orgs.MaxEntries() / 2,
		rulesets:   m.Rulesets.MaxEntries() / 2,
		portRanges: m.PortRanges.MaxEntries() / 2,
		ruleSlots:  m.RuleStats.MaxEntries(),
		lens:       uint32(len(BoundaryPalLens{}.Lens4)),
		ingresses:  m.Ingresses.MaxEntries() / 2,
		sources:    dp.ceilings["sources"] / 2,
		dests:      dp.ceilings["dests"] / 2,
		blocks:     dp.ceilings["blocks"] / 4, // each generation's half at most half full

		blockPrefixes: m.BlockPrefixes.MaxEntries() / 2,
		flows:         m.Flows.MaxEntries(),
		flowQuota:     dp.flowQuota,
	}
}

// addrWords lays an address out as the datapath reads it from a packet:
// network-order bytes in native-order words.
func addrWords(a netip.Addr) [4]uint32 {
	var w [4]uint32
	b := a.As16()
	if a.Is4() {
		v4 := a.As4()
		w[0] = binary.NativeEndian.Uint32(v4[:])
		return w
	}
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

// tables is a compiled policy laid out as map entries of one generation.
type tables struct {
	ingKeys  []BoundaryPalIngressKey
	ingVals  []BoundaryPalIngress
	srcKeys  []BoundaryPalSrcKey
	srcVals  []uint32
	orgIdx   []uint32
	orgVals  []BoundaryPalOrg
	rsIdx    []uint32
	rsVals   []BoundaryPalRuleset
	dstKeys  []BoundaryPalDstKey
	dstVals  []BoundaryPalDst
	blkKeys  []BoundaryPalBlockKey
	blkVals  []BoundaryPalBlock
	listIdx  []uint32 // block_prefixes: what crowded blocks list
	listVals []BoundaryPalBlockPrefix
	listCap  uint32 // block_prefixes entries a generation has
	portIdx  []uint32
	portVals []BoundaryPalPortRange
	portRule []int           // rule index of each port range, for setSlots
	skipped  []string        // ingresses whose interface is not on this host
	orgIfs   map[uint32]bool // ifindexes organisations come in on
}

// Block lengths: prefixes at least this long are summarised per block
// (bpf/abi.h PAL_BLOCK4, PAL_BLOCK6).
const block4, block6 = 24, 64

// blockListMax is PAL_BLOCK_LIST_MAX (bpf/abi.h): the most prefixes a
// crowded block lists; TestCrowdedBlocks fails if the program reads fewer
// (reading more is harmless: a block never lists more than this).
const blockListMax = 16

// answer is what an owner's i-th prefix stands for: the organisation (its
// sources) or what the destination allows (a ruleset's destinations).
type answer func(i int) (org uint32, dst BoundaryPalDst)

// fillLens sets the prefix lengths of one owner, longest first, and adds
// the block summaries of its long prefixes to t.
func (t *tables) fillLens(l *BoundaryPalLens, prefixes []netip.Prefix, owner BoundaryPalBlockKey, ans answer, max uint32, what string) error {
	for _, fam := range []int{4, 6} {
		lens := policy.Lens(prefixes, fam)
		if uint32(len(lens)) > max {
			return fmt.Errorf("%s uses %d distinct IPv%d prefix lengths; the datapath supports %d", what, len(lens), fam, max)
		}
		block, long := block4, &l.Long4
		if fam == 4 {
			l.N4 = uint8(copy(l.Lens4[:], lens))
		} else {
			block, long = block6, &l.Long6
			l.N6 = uint8(copy(l.Lens6[:], lens))
		}
		for _, n := range lens {
			if int(n) >= block {
				*long++
			}
		}
		if *long >= 2 { // else the datapath probes the one long length directly
			t.addBlocks(prefixes, fam, block, lens, owner, ans)
		}
	}
	return nil
}

// addBlocks summarises the owner's long prefixes of family fam per block;
// a block holding one of them carries it and its answer, a block several
// share lists them (addList).
func (t *tables) addBlocks(prefixes []netip.Prefix, fam, block int, lens []uint8, owner BoundaryPalBlockKey, ans answer) {
	type summary struct {
		v       BoundaryPalBlock
		members []int // indices into prefixes
	}
	blocks := map[netip.Prefix]*summary{}
	var order []netip.Prefix
	for i, p := range prefixes {
		if int(family(p.Addr())) != fam || p.Bits() < block {
			continue
		}
		b := netip.PrefixFrom(p.Addr(), block).Masked()
		s := blocks[b]
		if s == nil {
			s = &summary{}
			blocks[b] = s
			order = append(order, b)
		}
		s.v.Lens |= 1 << slices.Index(lens, uint8(p.Bits()))
		s.members = append(s.members, i)
	}
	for _, b := range order {
		s := blocks[b]
		if len(s.members) == 1 {
			i := s.members[0]
			s.v.OnlyPlen, s.v.OnlyAddr = uint8(prefixes[i].Bits()), addrWords(prefixes[i].Masked().Addr())
			s.v.Org, s.v.Dst = ans(i)
		} else {
			t.addList(&s.v, prefixes, s.members, uint32(owner.Gen), ans)
		}
		k := owner
		k.Family = uint8(fam)
		w := addrWords(b.Addr())
		copy(k.Addr[:], w[:2])
		t.blkKeys = append(t.blkKeys, k)
		t.blkVals = append(t.blkVals, s.v)
	}
}

// addList lists a crowded block's prefixes (members of prefixes) in
// block_prefixes, longest first, so that the first one containing an
// address is its longest match in the block. A block with more than the
// datapath reads in one go, or one that no longer fits in the array,
// lists none: the datapath then probes its lengths one by one.
func (t *tables) addList(v *BoundaryPalBlock, prefixes []netip.Prefix, members []int, gen uint32, ans answer) {
	n := uint32(len(members))
	if n > blockListMax || uint32(len(t.listVals))+n > t.listCap {
		return
	}
	members = slices.Clone(members)
	slices.SortStableFunc(members, func(a, b int) int { return prefixes[b].Bits() - prefixes[a].Bits() })
	v.ListOff, v.ListCnt = uint32(len(t.listVals)), uint8(n)
	for _, i := range members {
		e := BoundaryPalBlockPrefix{Addr: addrWords(prefixes[i].Masked().Addr()), Plen: uint8(prefixes[i].Bits())}
		e.Org, e.Dst = ans(i)
		t.listIdx = append(t.listIdx, gen*t.listCap+uint32(len(t.listVals)))
		t.listVals = append(t.listVals, e)
	}
}

func ifindexOf(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
