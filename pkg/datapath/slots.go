package datapath

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// Counter slots: organisations and rules are counted in per-CPU arrays by
// slot. A name keeps its slot across applies and agent restarts (the
// registry is a pinned map), so a counter never jumps to another rule.
const (
	slotNameLen = 128
	kindOrg     = 'o'
	kindRule    = 'r'
)

type slotName [slotNameLen]byte

type slotRegistry struct {
	m     *ebpf.Map
	slots map[slotName]uint32
	used  map[byte]map[uint32]slotName
}

func openSlots(pin string, capacity uint32) (*slotRegistry, error) {
	m, err := ebpf.NewMapWithOptions(&ebpf.MapSpec{
		Name:       "slots",
		Type:       ebpf.Hash,
		KeySize:    slotNameLen,
		ValueSize:  4,
		MaxEntries: capacity,
		Pinning:    ebpf.PinByName,
	}, ebpf.MapOptions{PinPath: pin})
	if err != nil {
		return nil, fmt.Errorf("open slot registry in %s: %w", filepath.Join(pin, "slots"), err)
	}
	return readSlots(m)
}

// readSlots loads the registry's contents; it takes ownership of m.
func readSlots(m *ebpf.Map) (*slotRegistry, error) {
	r := &slotRegistry{m: m, slots: map[slotName]uint32{}, used: map[byte]map[uint32]slotName{
		kindOrg: {}, kindRule: {},
	}}
	var k slotName
	var v uint32
	it := m.Iterate()
	for it.Next(&k, &v) {
		r.slots[k] = v
		r.used[k[0]][v] = k
	}
	if err := it.Err(); err != nil {
		m.Close()
		return nil, fmt.Errorf("read slot registry: %w", err)
	}
	return r, nil
}

func (r *slotRegistry) Close() error {
	if r == nil {
		return nil
	}
	return r.m.Close()
}

func nameKey(kind byte, name string) slotName {
	var k slotName
	k[0] = kind
	if len(name) > slotNameLen-2 {
		sum := sha256.Sum256([]byte(name))
		name = name[:slotNameLen-2-17] + "#" + hex.EncodeToString(sum[:8])
	}
	copy(k[1:], name)
	return k
}

// assign returns a slot for each name, keeping existing ones. Slot 0 is
// never given out: it counts what belongs to no organisation or rule. When
// the slots run out, those of names in neither want nor keep are reclaimed
// and their counters zeroed by reset.
func (r *slotRegistry) assign(kind byte, want, keep []string, limit uint32, reset func(uint32) error) (map[string]uint32, error) {
	out := make(map[string]uint32, len(want))
	live := map[slotName]bool{}
	for _, n := range append(append([]string{}, want...), keep...) {
		live[nameKey(kind, n)] = true
	}
	next := uint32(1)
	for _, n := range want {
		k := nameKey(kind, n)
		if s, ok := r.slots[k]; ok {
			out[n] = s
			continue
		}
		s, err := r.free(kind, &next, limit, live, reset)
		if err != nil {
			return nil, fmt.Errorf("slot for %q: %w", n, err)
		}
		if err := r.m.Put(k, s); err != nil {
			return nil, fmt.Errorf("record slot for %q: %w", n, err)
		}
		r.slots[k] = s
		r.used[kind][s] = k
		out[n] = s
	}
	return out, nil
}

func (r *slotRegistry) free(kind byte, next *uint32, limit uint32, live map[slotName]bool, reset func(uint32) error) (uint32, error) {
	for ; *next < limit; *next++ {
		owner, taken := r.used[kind][*next]
		if taken && live[owner] {
			continue
		}
		s := *next
		*next++
		if taken {
			if err := r.m.Delete(owner); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return 0, err
			}
			delete(r.slots, owner)
			delete(r.used[kind], s)
			if err := reset(s); err != nil {
				return 0, err
			}
		}
		return s, nil
	}
	return 0, fmt.Errorf("all %d slots in use", limit-1)
}

// names returns slot -> name for one kind (for counters).
func (r *slotRegistry) names(kind byte) map[uint32]string {
	out := make(map[uint32]string, len(r.used[kind]))
	for s, k := range r.used[kind] {
		n := k[1:]
		for i, b := range n {
			if b == 0 {
				n = n[:i]
				break
			}
		}
		out[s] = string(n)
	}
	return out
}
