// Package flows turns the datapath's flow-log events into JSON lines in the
// shape of Suricata's EVE log (so pipelines built for EVE ingest them), writes
// them to a file that rotates by size, and lets responders read or follow it.
package flows

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"strconv"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Record is one line of the flow log. The schema is documented in README.md.
type Record struct {
	Timestamp  string  `json:"timestamp"`            // RFC 3339, microseconds, UTC
	FlowID     uint64  `json:"flow_id"`              // the same for a flow's start and end
	EventType  string  `json:"event_type"`           // "flow" or "drop"
	Event      string  `json:"flow_event,omitempty"` // "start" or "end" (event_type flow)
	SrcIP      string  `json:"src_ip"`
	SrcPort    uint16  `json:"src_port"`
	DestIP     string  `json:"dest_ip"`
	DestPort   uint16  `json:"dest_port"`
	Proto      string  `json:"proto"` // TCP, UDP, ICMP, IPv6-ICMP as EVE writes them
	Org        string  `json:"org"`
	RuleID     string  `json:"rule_id,omitempty"` // "org/id"
	Verdict    string  `json:"verdict"`
	DropReason string  `json:"drop_reason,omitempty"`
	Packets    uint64  `json:"packets"`
	Bytes      uint64  `json:"bytes"`
	PacketsRev uint64  `json:"packets_toclient,omitempty"` // replies (flow end)
	BytesRev   uint64  `json:"bytes_toclient,omitempty"`
	Duration   float64 `json:"duration,omitempty"` // seconds (flow end)
	// PolicyDigest is the rules' digest in force (as `palisade validate`
	// prints it); StateDigest the same with this gateway's runtime
	// narrowing (suspensions, lapsed certificates) when the line was made.
	PolicyDigest string `json:"policy_digest,omitempty"`
	StateDigest  string `json:"state_digest,omitempty"`
}

// Names resolves datapath slots to organisation and rule names.
type Names struct {
	Orgs, Rules               map[uint32]string
	PolicyDigest, StateDigest string
}

// clock converts the datapath's CLOCK_MONOTONIC stamps to wall time.
type clock func(monoNs uint64) time.Time

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func protoName(p uint8) string {
	switch p {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 1:
		return "ICMP"
	case 58:
		return "IPv6-ICMP"
	}
	return strconv.Itoa(int(p))
}

func addr(a [4]uint32, family uint8) string {
	var b [16]byte
	for i, w := range a {
		binary.NativeEndian.PutUint32(b[i*4:], w) // the datapath keeps network order in memory
	}
	if family == 4 {
		return netip.AddrFrom4([4]byte(b[:4])).String()
	}
	return netip.AddrFrom16(b).String()
}

// FlowID derives an EVE flow_id from the flow's endpoints and start: both
// directions and both records (start, end) of one flow get the same id.
func FlowID(lo, hi [4]uint32, loPort, hiPort uint16, proto uint8, createdNs uint64) uint64 {
	h := fnv.New64a()
	for _, v := range []any{lo, hi, loPort, hiPort, proto, createdNs} {
		binary.Write(h, binary.LittleEndian, v)
	}
	return h.Sum64() & (1<<53 - 1) // exact in JSON consumers that use doubles
}

// fromEvent makes a record of a flow start or a refused packet.
func fromEvent(e *datapath.BoundaryPalEvent, n *Names, at clock) Record {
	r := Record{
		Timestamp: stamp(at(e.TsNs)),
		SrcIP:     addr(e.Src, e.Family), SrcPort: e.Sport,
		DestIP: addr(e.Dst, e.Family), DestPort: e.Dport,
		Proto: protoName(e.Proto), Org: n.Orgs[e.OrgSlot],
		Verdict: datapath.VerdictName(datapath.BoundaryPalVerdict(e.Verdict)),
		Packets: 1, Bytes: uint64(e.Len), PolicyDigest: n.PolicyDigest, StateDigest: n.StateDigest,
	}
	lo, hi, lp, hp := canonical(e.Src, e.Dst, e.Sport, e.Dport)
	r.FlowID = FlowID(lo, hi, lp, hp, e.Proto, e.TsNs)
	if e.Type == uint8(datapath.BoundaryPalEventTypePAL_EVENT_DROP) {
		r.EventType = "drop"
		r.DropReason = datapath.DropReasonName(datapath.BoundaryPalDropReason(e.Reason))
		return r
	}
	r.EventType, r.Event, r.RuleID = "flow", "start", n.Rules[e.RuleSlot]
	return r
}

// canonical orders endpoints the way the datapath's flow key does.
func canonical(src, dst [4]uint32, sp, dp uint16) (lo, hi [4]uint32, lp, hp uint16) {
	for i := range src {
		if src[i] != dst[i] {
			if src[i] < dst[i] { // raw words, as the datapath compares them
				return src, dst, sp, dp
			}
			return dst, src, dp, sp
		}
	}
	if sp <= dp {
		return src, dst, sp, dp
	}
	return dst, src, dp, sp
}

// fromEnded makes the end record of a flow the sweep removed.
func fromEnded(e datapath.EndedFlow, n *Names, at clock) Record {
	k, f := e.Key, e.Flow
	src, dst, sp, dp := k.LoAddr, k.HiAddr, k.LoPort, k.HiPort
	if f.Flags&uint8(datapath.BoundaryPalFlowFlagsPAL_FLOW_ORIG_LO) == 0 {
		src, dst, sp, dp = dst, src, dp, sp
	}
	return Record{
		Timestamp: stamp(at(f.LastSeenNs)),
		FlowID:    FlowID(k.LoAddr, k.HiAddr, k.LoPort, k.HiPort, k.Proto, f.CreatedNs),
		EventType: "flow", Event: "end",
		SrcIP: addr(src, k.Family), SrcPort: sp, DestIP: addr(dst, k.Family), DestPort: dp,
		Proto: protoName(k.Proto), Org: n.Orgs[f.OrgSlot], RuleID: n.Rules[f.RuleSlot],
		Verdict: datapath.VerdictName(datapath.BoundaryPalVerdict(f.Verdict)),
		Packets: f.Packets[0], Bytes: f.Bytes[0], PacketsRev: f.Packets[1], BytesRev: f.Bytes[1],
		Duration:     float64(f.LastSeenNs-f.CreatedNs) / 1e9,
		PolicyDigest: n.PolicyDigest, StateDigest: n.StateDigest,
	}
}
