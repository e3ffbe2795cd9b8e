package datapath

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// The prefix tables are sized to the policy, not to the largest policy the
// datapath could hold: a hash map's bucket array is as long as its
// capacity, and a small policy spread over a large array costs a cache
// and TLB miss per lookup (about a fifth of the refusal rate at 1,000 rules
// here); the blocks table is an array of slots (blocktable.go). They start
// small and grow when a policy needs more: the program is loaded again
// with larger copies of them and swapped into every pinned link, each
// packet decided wholly by the old program or the new one.

// sizedMaps are the tables sized to the policy, by pin name.
var sizedMaps = []string{"sources", "dests", "blocks"}

// initialSize is the capacity of a fresh prefix table: two generations of
// a few thousand prefixes, 64 KiB of buckets (blocks: two halves of 2,048
// slots, 288 KiB).
const initialSize = 4096

func (m *BoundaryMaps) sized(name string) **ebpf.Map {
	switch name {
	case "sources":
		return &m.Sources
	case "dests":
		return &m.Dests
	case "blocks":
		return &m.Blocks
	}
	panic("datapath: no sized map " + name)
}

// sizeSpec gives the prefix tables the capacity of the ones pinned (so they
// are reused), or initialSize when there are none yet. It returns each
// table's compiled-in capacity: the ceiling growth stops at.
func sizeSpec(spec *ebpf.CollectionSpec, pin string) map[string]uint32 {
	ceilings := map[string]uint32{}
	for _, name := range sizedMaps {
		ms := spec.Maps[name]
		ceilings[name] = ms.MaxEntries
		ms.MaxEntries = min(initialSize, ms.MaxEntries)
		if m, err := ebpf.LoadPinnedMap(filepath.Join(pin, name), nil); err == nil {
			if m.Type() == ms.Type { // else of another layout: replaced (upgrade.go)
				ms.MaxEntries = m.MaxEntries()
			}
			m.Close()
		}
	}
	return ceilings
}

// growFor makes sure each prefix hash table can take need more entries
// besides the ones it holds (the active generation: the idle one is
// cleared), and that the blocks table has blk's size. A hash table grows
// to twice what it must hold, rounded to a power of two, up to its
// ceiling; build has already refused policies beyond the ceilings.
func (dp *Datapath) growFor(held, need map[string]uint32, blk *blockLayout) error {
	grow := map[string]uint32{}
	if blk.kept != nil {
		grow["blocks"] = 2 * blk.slots
	}
	for _, name := range []string{"sources", "dests"} {
		m := *dp.objs.sized(name)
		want := held[name] + need[name]
		if want <= m.MaxEntries() {
			continue
		}
		grow[name] = min(max(uint32(1)<<bits.Len32(2*want-1), initialSize), dp.ceilings[name])
	}
	if len(grow) == 0 {
		return nil
	}
	return dp.reloadWith(grow, blk)
}

// reloadWith loads the program again with the tables in grow at their new
// capacities (copies of the old ones; blocks laid out again by blk) and
// every other map shared, swaps it into the pinned links, then pins the
// new tables in place of the old.
func (dp *Datapath) reloadWith(grow map[string]uint32, blk *blockLayout) error {
	spec, err := LoadBoundary()
	if err != nil {
		return fmt.Errorf("load boundary spec: %w", err)
	}
	repl := map[string]*ebpf.Map{}
	for name, m := range dp.objs.mapsByName() {
		if _, ok := grow[name]; !ok {
			repl[name] = m
			spec.Maps[name].MaxEntries = m.MaxEntries() // as loaded: sized, or resized by options
		}
	}
	for name, size := range grow {
		spec.Maps[name].MaxEntries = size
		spec.Maps[name].Pinning = ebpf.PinNone
	}
	if err := setBlockSlots(spec); err != nil {
		return err
	}
	var next BoundaryObjects
	if err := spec.LoadAndAssign(&next, &ebpf.CollectionOptions{MapReplacements: repl}); err != nil {
		return fmt.Errorf("load boundary program with larger tables: %w", err)
	}
	fresh := map[string]*ebpf.Map{}
	for name := range grow {
		fresh[name] = *next.sized(name)
	}
	if err := dp.swapIn(&next, fresh, blk); err != nil {
		next.Close()
		return err
	}
	return nil
}

// swapIn fills the fresh tables (copies of the old ones; the blocks table
// gets the other generation as blk laid it out), moves the pinned links
// to next's program and adopts next's program and fresh tables. The other
// maps of next are clones of dp's own: those are closed, dp's kept, so
// handles held elsewhere (counters, readers) stay valid.
func (dp *Datapath) swapIn(next *BoundaryObjects, fresh map[string]*ebpf.Map, blk *blockLayout) error {
	for name, m := range fresh {
		var err error
		switch name {
		case "blocks":
			err = blk.writeKept(m)
		case "sources":
			err = copyEntries[BoundaryPalSrcKey, uint32](dp.objs.Sources, m)
		case "dests":
			err = copyEntries[BoundaryPalDstKey, BoundaryPalDst](dp.objs.Dests, m)
		default:
			err = fmt.Errorf("no way to fill a grown %s table", name)
		}
		if err != nil {
			return fmt.Errorf("copy %s into its larger table: %w", name, err)
		}
	}
	live := !dp.fresh // fresh tables: no link runs them, and they are pinned once they hold a policy
	if live {
		if err := dp.moveLinks(next.XdpBoundary); err != nil {
			return err
		}
	}
	var errs []error
	for name, m := range fresh {
		if live {
			path := filepath.Join(dp.pinPath, name)
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			errs = append(errs, m.Pin(path))
		}
		old := dp.objs.sized(name)
		errs = append(errs, (*old).Close())
		*old = m
		*next.sized(name) = nil
	}
	old := dp.objs.XdpBoundary
	dp.objs.XdpBoundary, next.XdpBoundary = next.XdpBoundary, nil
	errs = append(errs, old.Close(), next.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("adopt larger tables: %w", err)
	}
	return nil
}

// moveLinks puts prog into every pinned link. If one fails, the links
// already moved go back to the current program: no interface may be left
// running tables that later publishes no longer write.
func (dp *Datapath) moveLinks(prog *ebpf.Program) error {
	ifaces, err := dp.Attached()
	if err != nil {
		return err
	}
	var moved []link.Link
	defer func() {
		for _, l := range moved {
			l.Close()
		}
	}()
	for _, ifname := range ifaces {
		l, err := link.LoadPinnedLink(dp.linkPin(ifname), nil)
		if err == nil {
			if err = l.Update(prog); err != nil {
				l.Close()
			}
		}
		if err != nil {
			for _, back := range moved {
				_ = back.Update(dp.objs.XdpBoundary)
			}
			return fmt.Errorf("swap program on %s: %w", ifname, err)
		}
		moved = append(moved, l)
	}
	return nil
}

// copyEntries copies every entry of from into to (maps of one layout
// whose key and value types are K and V): read by walk, written walkBatch
// entries a system call; entry by entry where the kernel has no batch
// updates for the map.
func copyEntries[K, V any](from, to *ebpf.Map) error {
	keys, vals := make([]K, 0, walkBatch), make([]V, 0, walkBatch)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		_, err := to.BatchUpdate(keys, vals, nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			err = nil
			for i := range keys {
				if err = to.Put(&keys[i], &vals[i]); err != nil {
					break
				}
			}
		}
		keys, vals = keys[:0], vals[:0]
		return err
	}
	var werr error
	err := walk(from, func(k *K, v *V) bool {
		keys, vals = append(keys, *k), append(vals, *v)
		if len(keys) == walkBatch {
			werr = flush()
		}
		return werr == nil
	})
	if err != nil || werr != nil {
		return errors.Join(err, werr)
	}
	return flush()
}

// mapsByName lists the loaded maps by their names in the object.
func (o *BoundaryObjects) mapsByName() map[string]*ebpf.Map {
	out := map[string]*ebpf.Map{}
	v := reflect.ValueOf(&o.BoundaryMaps).Elem()
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Tag.Get("ebpf"); name != "" {
			out[name] = v.Field(i).Interface().(*ebpf.Map)
		}
	}
	return out
}
