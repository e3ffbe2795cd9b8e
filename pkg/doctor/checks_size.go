package doctor

import (
	"fmt"
)

// What one entry of the state tables costs in kernel memory: key, value
// and the hash map's element header and bucket. The flow figure is
// bpftool's memlock for the preallocated table divided by its entries on
// Linux 6.18 (48,235,744 B / 262,144); the fragment one the same overhead
// over its 48-byte key and 24-byte value.
const (
	flowEntryBytes = 184
	fragEntryBytes = 136
	fragEntries    = 16384
	// defaultFlowTable is the compiled-in flow table (PAL_FLOW_TABLE_SIZE).
	defaultFlowTable = 262144
	// smallShare: an organisation's flow quota below this is a few
	// browsers' worth of connections.
	smallShare = 256
)

// checkTableSizes says what the configured tables cost against the host's
// memory, and whether the organisations' flow quotas fit the flow table:
// quotas past it let one organisation's flows refuse another's
// (flow_table_full), and a tiny fair share refuses ordinary use.
func checkTableSizes(h Host, t *target) []Result {
	if t.policy == nil {
		return nil
	}
	size := t.flowTableSize
	if size == 0 {
		size = defaultFlowTable
	}
	need := uint64(size)*flowEntryBytes + fragEntries*fragEntryBytes
	out := []Result{memoryFit(h, size, need)}
	orgs := len(t.policy.Orgs)
	share := size / uint32(max(1, orgs))
	var sum uint64
	var small []string
	for _, o := range t.policy.Orgs {
		q := share
		switch {
		case o.Limits != nil && o.Limits.Flows > 0:
			q = o.Limits.Flows
		case t.flowQuota > 0:
			q = t.flowQuota
		}
		sum += uint64(q)
		if q < smallShare {
			small = append(small, o.ID)
		}
	}
	switch {
	case sum > uint64(size):
		out = append(out, warn("flow quotas", "the %d organisations' flow quotas add up to %d, past the flow table's %d entries: when it fills, new flows of organisations under their quota are refused as flow_table_full; raise flow_table_size or lower the quotas", orgs, sum, size))
	case len(small) > 0:
		out = append(out, warn("flow quotas", "%d organisation(s) may hold fewer than %d flows (%v%s): a fair share of %d entries over %d organisations is %d; raise flow_table_size, or set flow_quota or their limits.flows", len(small), smallShare, small[:min(3, len(small))], more(len(small)-3), size, orgs, share))
	default:
		out = append(out, ok("flow quotas", "%d organisations' quotas add up to %d of the flow table's %d entries (fair share %d)", orgs, sum, size, share))
	}
	return out
}

func memoryFit(h Host, size uint32, need uint64) Result {
	detail := fmt.Sprintf("flow table %d entries and fragment table %d: %d MiB of kernel memory, allocated at load whatever the traffic", size, fragEntries, need>>20)
	total, err := h.MemTotal()
	switch {
	case err != nil:
		return warn("table memory", "%s; host memory unknown: %v", detail, err)
	case need > total/4:
		return warn("table memory", "%s: more than a quarter of the host's %d MiB; lower flow_table_size", detail, total>>20)
	}
	return ok("table memory", "%s, of the host's %d MiB", detail, total>>20)
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
