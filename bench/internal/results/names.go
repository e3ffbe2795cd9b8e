package results

// Program-cost cases, as results name them.
const (
	FlowHit   = "flow_hit"          // a packet of an established flow
	Decision  = "new_flow_decision" // every policy lookup, refused at the port
	Refused   = "refused"           // destination in no rule of the organisation
	Inspected = "inspected"         // a packet of a flow flagged for inspection
	NewFlow   = "new_allowed_flow"  // decision, flow created, passed

	// Over SpreadFlows flows, one frame each in turn (method Spread): what
	// the repeated frames above cost when their entries are not cached.
	FlowHitSpread = "flow_hit_spread" // packets of established flows
	RefusedSpread = "refused_spread"  // refused at the port: every lookup

	// References, not Palisade: the flow-hit frame through a program that
	// only parses and finds its flow (bench/bpf/baseline.c).
	RefHash  = "ref_hash_lookup" // one lookup in a hash table shaped like the flow table
	RefArray = "ref_array_probe" // one probe of a per-CPU array
)

// Cases lists the program-cost cases in report order.
var Cases = []string{FlowHit, Decision, Refused, Inspected, NewFlow, FlowHitSpread, RefusedSpread, RefHash, RefArray}

// SpreadFlows is how many flows the spread method runs over in turn
// (SPREAD_MAX_FRAMES in bench/bpf/baseline.c).
const SpreadFlows = 4096

// Program-cost methods (see bench/README.md).
const (
	Repeat = "repeat" // one frame run many times in one call; thread CPU time
	Burst8 = "burst8" // 8 runs per call (XDP metadata holds 8 marks); kernel time
	Single = "single" // one run per call, a new flow each time; kernel time
	Spread = "spread" // SpreadFlows frames in turn, many runs per call; thread CPU time
)

// Status of a target.
const (
	Pass        = "PASS"
	Miss        = "MISS"
	NotMeasured = "not measured"
)

// Engine names the throughput figures use.
const (
	Palisade       = "palisade"
	NFTSet         = "nftables-set"
	IPSet          = "ipset"
	IPTablesLegacy = "iptables-legacy"
	IPTablesNFT    = "iptables-nft"
	StackFloor     = "stack-floor"
	XDPDrop        = "xdp-drop"
	XDPReadDrop    = "xdp-read-drop"
)
