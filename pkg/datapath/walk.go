package datapath

import (
	"errors"

	"github.com/cilium/ebpf"
)

// walkBatch is how many entries a walk reads per system call.
const walkBatch = 4096

// walk calls fn for every entry of the hash map m (whose key and value
// types are K and V), reading walkBatch entries a system call: a walk
// by Iterate costs two system calls an entry, ~0.5 s for 100,000 flows
// here, for every sweep and every metrics scrape. As with Iterate,
// entries added or removed meanwhile may or may not be seen; unlike it,
// none is seen twice. fn returning false ends the walk. A kernel without
// batch lookups for the map is walked by Iterate.
func walk[K, V any](m *ebpf.Map, fn func(*K, *V) bool) error {
	keys, vals := make([]K, walkBatch), make([]V, walkBatch)
	var cursor ebpf.MapBatchCursor
	for first := true; ; first = false {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		if first && errors.Is(err, ebpf.ErrNotSupported) {
			return walkIterate(m, fn)
		}
		for i := range n {
			if !fn(&keys[i], &vals[i]) {
				return nil
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil // the end
		}
		if err != nil {
			return err
		}
	}
}

func walkIterate[K, V any](m *ebpf.Map, fn func(*K, *V) bool) error {
	var (
		k K
		v V
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		if !fn(&k, &v) {
			return nil
		}
	}
	return it.Err()
}

// readPerCPU calls fn with every CPU's value of the entries 0 to n-1 of the
// per-CPU array m, walkBatch entries a system call (a scrape reads one
// counter for every rule: 100,000 lookups at large policies otherwise).
// Entry by entry where the kernel has no batch lookups for arrays.
func readPerCPU[V any](m *ebpf.Map, n uint32, fn func(idx uint32, per []V) error) error {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	keys, vals := make([]uint32, walkBatch), make([]V, walkBatch*ncpu)
	var cursor ebpf.MapBatchCursor
	for first := true; ; first = false {
		got, err := m.BatchLookup(&cursor, keys, vals, nil)
		if first && errors.Is(err, ebpf.ErrNotSupported) {
			return readPerCPUOneByOne(m, n, fn)
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
		for i := range got {
			if keys[i] >= n {
				return nil
			}
			if err := fn(keys[i], vals[i*ncpu:(i+1)*ncpu]); err != nil {
				return err
			}
		}
		if err != nil || got == 0 {
			return nil // the end of the array
		}
	}
}

func readPerCPUOneByOne[V any](m *ebpf.Map, n uint32, fn func(idx uint32, per []V) error) error {
	for idx := range n {
		var per []V
		if err := m.Lookup(idx, &per); err != nil {
			return err
		}
		if err := fn(idx, per); err != nil {
			return err
		}
	}
	return nil
}
