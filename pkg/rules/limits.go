package rules

import "gopkg.in/yaml.v3"

// Limits are what an organisation may hold of the gateway's shared state
// (issue 17); zero fields take the gateway's defaults.
type Limits struct {
	Flows uint32 // flow-table entries at once: its new flows past this are refused (flow_quota)
	// Fragments is how many fragmented datagrams it may have in flight
	// (first fragments remembered): past it, fragment_quota.
	Fragments uint32
	// InspectedFlows is how many of its flows the inspector may track at
	// once (it holds 16,384 in all): past it, its own oldest unanswered or
	// decided flows make way, else its new flagged flows get their
	// failure mode.
	InspectedFlows uint32
	// Rates per second (0: none): new flows, and the packets and bytes of
	// its allowed traffic, both ways. Past one, refused as rate_limited,
	// with a second's worth of burst.
	NewFlowsPerSecond, PacketsPerSecond, BytesPerSecond uint64
	Pos                                                 Pos
}

// maxRate bounds a rate: 100 Gbit/s in bytes, more than any gateway.
const maxRate = 12_500_000_000

// maxFlowQuota is the largest flow table the datapath can be given.
const maxFlowQuota = 1 << 26

func (d *decoder) limits(n *yaml.Node) *Limits {
	f, ok := d.fields(n, "limits", "flows", "fragments", "inspected_flows", "new_flows_per_second", "packets_per_second", "bytes_per_second")
	if !ok {
		return nil
	}
	l := &Limits{Pos: d.pos(resolve(n))}
	for _, q := range []struct {
		key string
		dst *uint32
	}{{"flows", &l.Flows}, {"fragments", &l.Fragments}, {"inspected_flows", &l.InspectedFlows}} {
		e, ok := f[q.key]
		if !ok {
			continue
		}
		v, ok := d.integer(e.val, q.key)
		if ok && (v < 1 || v > maxFlowQuota) {
			d.errorf(resolve(e.val), "limits.%s %d: want 1 to %d %s", q.key, v, maxFlowQuota, q.key)
		} else if ok {
			*q.dst = uint32(v)
		}
	}
	for _, r := range []struct {
		key string
		dst *uint64
	}{{"new_flows_per_second", &l.NewFlowsPerSecond}, {"packets_per_second", &l.PacketsPerSecond}, {"bytes_per_second", &l.BytesPerSecond}} {
		e, ok := f[r.key]
		if !ok {
			continue
		}
		v, ok := d.integer(e.val, r.key)
		if ok && (v < 1 || v > maxRate) {
			d.errorf(resolve(e.val), "limits.%s %d: want 1 to %d", r.key, v, int64(maxRate))
		} else if ok {
			*r.dst = uint64(v)
		}
	}
	return l
}
