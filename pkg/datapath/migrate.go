package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/cilium/ebpf"
)

// State maps (flows, counters) carry over from the agent before, so an
// upgrade keeps established connections and counts. When a build changes
// one's layout it is loaded afresh and the pinned contents are copied in
// by the map's migration, twice: at load, and once this build's program
// has taken every link over (CarryOver), for what the old program, still
// enforcing until then, added meanwhile; only then is this build's map
// pinned in the old one's place. A connection whose first packet the old
// program passed in the last moments before the switch may lose its first
// reply, which the client's retransmission mends. A state map with no
// migration still refuses to load (`palisade clean`).
// A migration copies old into cur: at load (final false) and once the
// old program no longer runs (final true).
var stateMigrations = map[string]func(dp *Datapath, old, cur *ebpf.Map, final bool) error{
	"flows":      (*Datapath).copyFlows, // the reply ingress was appended; an LRU no more
	"drop_stats": addPerCPUCounters,
	"frags":      nil, // seconds-lived: starts empty
}

// staleState lists the pinned state maps whose layout differs from this
// build's and which have a migration; the load creates them afresh.
func staleState(spec *ebpf.CollectionSpec, pin string) []string {
	var stale []string
	for name := range stateMigrations {
		if pinnedOtherLayout(spec, pin, name) {
			spec.Maps[name].Pinning = ebpf.PinNone
			stale = append(stale, name)
		}
	}
	return stale
}

// migrateState copies each stale pinned map into this build's and keeps
// the pinned one open for CarryOver.
func (dp *Datapath) migrateState(stale []string) error {
	maps := dp.objs.mapsByName()
	dp.carry = map[string]*ebpf.Map{}
	for _, name := range stale {
		old, err := ebpf.LoadPinnedMap(filepath.Join(dp.pinPath, name), nil)
		if err != nil {
			dp.closeCarry()
			return fmt.Errorf("open pinned %s: %w", name, err)
		}
		dp.carry[name] = old
		if copyIn := stateMigrations[name]; copyIn != nil {
			if err := copyIn(dp, old, maps[name], false); err != nil {
				dp.closeCarry()
				return fmt.Errorf("carry %s over to this build's layout: %w", name, err)
			}
		}
	}
	return nil
}

// CarryOver finishes an upgrade across a state-map layout change, once
// this build's program runs on every link: it copies what the old program
// added since the load and pins this build's maps in place of the old
// ones. Without a layout change it does nothing. Until it runs, the pins
// are the old build's, so an agent that stops before attaching leaves the
// running program's state where it was.
func (dp *Datapath) CarryOver() error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	maps := dp.objs.mapsByName()
	defer dp.closeCarry()
	for name, old := range dp.carry {
		if copyIn := stateMigrations[name]; copyIn != nil {
			if err := copyIn(dp, old, maps[name], true); err != nil {
				return fmt.Errorf("carry %s over to this build's layout: %w", name, err)
			}
		}
		path := filepath.Join(dp.pinPath, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := maps[name].Pin(path); err != nil {
			return fmt.Errorf("pin %s: %w", name, err)
		}
	}
	return nil
}

func (dp *Datapath) closeCarry() {
	for _, m := range dp.carry {
		m.Close()
	}
	dp.carry = nil
}

// copyFlows copies flows whose records grew at their end (the new bytes
// start zero) and counts them into their organisations' flows in use.
func (dp *Datapath) copyFlows(old, cur *ebpf.Map, _ bool) error {
	added := map[uint32]int64{}
	err := copyGrownValues(old, cur, func(v []byte) {
		added[binary.NativeEndian.Uint32(v[unsafe.Offsetof(BoundaryPalFlow{}.OrgSlot):])]--
	})
	return errors.Join(err, dp.addFlowsGone(added))
}

// copyGrownValues copies a hash map whose keys are unchanged and whose
// values grew at their end: the new bytes start zero. copied sees each
// value it wrote.
func copyGrownValues(old, cur *ebpf.Map, copied func(v []byte)) error {
	if old.KeySize() != cur.KeySize() || old.ValueSize() > cur.ValueSize() {
		return fmt.Errorf("key %d -> %d, value %d -> %d bytes: not a grown value",
			old.KeySize(), cur.KeySize(), old.ValueSize(), cur.ValueSize())
	}
	k, v := make([]byte, old.KeySize()), make([]byte, old.ValueSize())
	nv := make([]byte, cur.ValueSize())
	it := old.Iterate()
	for it.Next(k, v) {
		copy(nv, v)
		err := cur.Update(k, nv, ebpf.UpdateNoExist)
		if err == nil {
			copied(v)
		} else if !errors.Is(err, ebpf.ErrKeyExist) {
			return err
		}
	}
	return it.Err()
}

// addPerCPUCounters adds a per-CPU counter array's final counts into a
// longer one, which counted only since this build's program took over.
func addPerCPUCounters(_ *Datapath, old, cur *ebpf.Map, final bool) error {
	if !final {
		return nil // the old program still counts
	}
	n := min(old.MaxEntries(), cur.MaxEntries())
	for i := uint32(0); i < n; i++ {
		var was, now []BoundaryPalCounter
		if err := old.Lookup(i, &was); err != nil {
			return err
		}
		if err := cur.Lookup(i, &now); err != nil {
			return err
		}
		for c := range now {
			now[c].Packets += was[c].Packets
			now[c].Bytes += was[c].Bytes
		}
		if err := cur.Put(i, now); err != nil {
			return err
		}
	}
	return nil
}
