package datapath

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// The blocks table is open addressing in an array (bpf/abi.h struct
// pal_block_slot): a lookup reads the key's home slot and, rarely, the
// next few, where a hash map would miss the cache twice (bucket, then
// entry). Each generation has its half. A publish lays its blocks out
// afresh in the idle half, empty slots included, so nothing needs
// clearing; when they do not fit, the table grows and the other half is
// laid out again at the new size (resize.go).

// blockProbes is PAL_BLOCK_PROBES: a block lies at most this many slots
// from its home, and a lookup reads no further.
const blockProbes = 8

// blockSlotsVar is the program's constant holding the slots of one half.
const blockSlotsVar = "pal_block_slots"

func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	return h ^ h>>16
}

// blockHome is pal_block_home (bpf/abi.h): the key's hash.
func blockHome(k *BoundaryPalBlockKey) uint32 {
	h := fmix32(k.Owner ^ uint32(k.Kind)<<16 ^ uint32(k.Family)<<24)
	h = fmix32(h ^ k.Addr[0])
	return fmix32(h ^ k.Addr[1])
}

// placeBlocks lays keys (with vals) out in a half of n slots, n a power of
// two, at most half of them used. Robin Hood insertion: a key displaced
// less far from its home gives way, which keeps the longest displacement
// short. It says false when a key would lie blockProbes or more slots from
// its home, or the half would be more than half full.
func placeBlocks(keys []BoundaryPalBlockKey, vals []BoundaryPalBlock, n uint32) ([]BoundaryPalBlockSlot, bool) {
	if uint64(len(keys))*2 > uint64(n) {
		return nil, false
	}
	half, mask := make([]BoundaryPalBlockSlot, n), n-1
	for i := range keys {
		cur := BoundaryPalBlockSlot{Key: keys[i], Block: vals[i]}
		pos, dist := blockHome(&cur.Key)&mask, uint32(0)
		for half[pos].Key.Family != 0 {
			if d := (pos - blockHome(&half[pos].Key)) & mask; d < dist {
				half[pos], cur, dist = cur, half[pos], d
			}
			pos, dist = (pos+1)&mask, dist+1
			if dist >= blockProbes {
				return nil, false
			}
		}
		half[pos] = cur
	}
	return half, true
}

// blockLayout is the blocks table as a publish writes it.
type blockLayout struct {
	slots uint32                 // of one half
	gen   uint32                 // the half written
	half  []BoundaryPalBlockSlot // its slots
	kept  []BoundaryPalBlockSlot // the other half laid out at slots; nil: the table keeps its size
}

// layBlocks lays t's blocks out in generation gen's half, at the table's
// size when they fit, else at the smallest larger one (up to the compiled
// capacity) where they and the other generation's blocks both fit.
func (dp *Datapath) layBlocks(t *tables, gen uint32) (*blockLayout, error) {
	cur := dp.objs.Blocks.MaxEntries() / 2
	if half, ok := placeBlocks(t.blkKeys, t.blkVals, cur); ok {
		return &blockLayout{slots: cur, gen: gen, half: half}, nil
	}
	keys, vals, err := readBlocks(dp.objs.Blocks, 1-gen)
	if err != nil {
		return nil, fmt.Errorf("read the active generation's blocks: %w", err)
	}
	for n := 2 * cur; n <= dp.ceilings["blocks"]/2; n *= 2 {
		half, ok := placeBlocks(t.blkKeys, t.blkVals, n)
		if !ok {
			continue
		}
		if kept, ok := placeBlocks(keys, vals, n); ok {
			return &blockLayout{slots: n, gen: gen, half: half, kept: kept}, nil
		}
	}
	return nil, fmt.Errorf("policy refused: its long prefixes fall in %d blocks (/%d, /%d), more than the datapath's blocks table places",
		len(t.blkKeys), block4, block6)
}

// readBlocks reads generation gen's blocks out of the table.
func readBlocks(m *ebpf.Map, gen uint32) (keys []BoundaryPalBlockKey, vals []BoundaryPalBlock, err error) {
	err = walk(m, func(_ *uint32, s *BoundaryPalBlockSlot) bool {
		if s.Key.Family != 0 && uint32(s.Key.Gen) == gen {
			keys, vals = append(keys, s.Key), append(vals, s.Block)
		}
		return true
	})
	return keys, vals, err
}

// indices are the array indices of the half a publish writes, whole:
// its empty slots clear what an earlier generation left there.
func (l *blockLayout) indices() []uint32 {
	idx := make([]uint32, l.slots)
	for i := range idx {
		idx[i] = l.gen*l.slots + uint32(i)
	}
	return idx
}

// writeKept writes the other generation's blocks into m, a fresh table of
// l's size: its slots are zero, so only the used ones are written.
func (l *blockLayout) writeKept(m *ebpf.Map) error {
	var (
		idx  []uint32
		used []BoundaryPalBlockSlot
	)
	for i, s := range l.kept {
		if s.Key.Family != 0 {
			idx, used = append(idx, (1-l.gen)*l.slots+uint32(i)), append(used, s)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	_, err := m.BatchUpdate(idx, used, nil)
	return err
}

// setBlockSlots gives the program the half size of the blocks table it is
// loaded with.
func setBlockSlots(spec *ebpf.CollectionSpec) error {
	n := spec.Maps["blocks"].MaxEntries
	if n < 2 || n&(n-1) != 0 {
		return fmt.Errorf("blocks table of %d slots: not two halves of a power of two", n)
	}
	return spec.Variables[blockSlotsVar].Set(n / 2)
}
