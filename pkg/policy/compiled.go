// Package policy compiles a validated rule set into the tables the datapath
// enforces, and evaluates those same tables in userspace, so that what
// `palisade explain` says and what the XDP program does cannot drift apart.
package policy

import (
	"net/netip"
	"slices"
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Verdict is what a rule does with the flows it matches.
type Verdict uint8

const (
	Drop Verdict = iota
	Allow
	Inspect
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Inspect:
		return "inspect"
	}
	return "drop"
}

// Class is the protocol class a port list belongs to.
type Class uint8

const (
	ClassTCP Class = iota
	ClassUDP
	ClassICMP // echo; ICMPv6 echo towards IPv6 destinations
	numClasses
)

// RemediationRuleset is the ruleset every suspended organisation uses.
const RemediationRuleset = 0

// Compiled is a policy as tables: organisations found by ingress and source
// prefix, rulesets as destination prefixes with sorted port ranges.
type Compiled struct {
	Orgs      []Org     // by org index
	Ingresses []Ingress // by ingress id, sorted by interface and VLAN
	Rulesets  []Ruleset // [0] is remediation; an org's own is its index + 1
	Rules     []Rule    // by rule index
	// Digest is the sha256 of the canonical tables. For a policy narrowed
	// at runtime (Narrow) it is the state digest: the tables with the
	// suspended flags the datapath holds.
	Digest string
	// PolicyDigest is Digest before any runtime narrowing: the tables as
	// the rules give them, the same on every gateway running the same
	// commit, and what `palisade validate` prints.
	PolicyDigest string
	// Narrowed is the organisations held to remediation outside their rule
	// files (Narrow), by organisation; none for a plain compile.
	Narrowed []Narrowing
	// ServiceSide is the interfaces a gateway attached that no organisation
	// comes in on (Attach): the datapath lets only replies in there, so a
	// first packet on one is no_flow. Empty offline: no host is known.
	ServiceSide []string

	ix index // lookups for Decide, built on first use
}

// Org is an organisation as the datapath sees it.
type Org struct {
	ID        string
	Suspended bool
	Ruleset   int
	FlowQuota uint32 `json:",omitempty"` // flows it may hold at once; 0: the gateway's default (digests of policies without it unchanged)
	FragQuota uint32 `json:",omitempty"` // fragmented datagrams in flight; 0: a fair share
	// InspectedFlows: flows the inspector may track for it; 0: its default.
	InspectedFlows uint32 `json:",omitempty"`
	// Rates per second, 0: none (rules.Limits).
	NewFlowsPerSecond uint64 `json:",omitempty"`
	PacketsPerSecond  uint64 `json:",omitempty"`
	BytesPerSecond    uint64 `json:",omitempty"`
}

// Ingress is where traffic enters; its sources tell which organisation.
type Ingress struct {
	Interface string
	VLAN      uint16
	InnerVLAN uint16
	Sources   []Source // sorted by prefix
}

// Source is a registered source prefix of one organisation on an ingress.
type Source struct {
	Prefix netip.Prefix
	Org    int
}

// Ruleset is what one organisation (or a suspended one) may reach. Each
// destination's port lists already include every shorter prefix covering it,
// so the longest matching destination alone decides.
type Ruleset struct {
	Dests []Dest // sorted by prefix
}

// Dest is a destination prefix and its port ranges per protocol class.
type Dest struct {
	Prefix netip.Prefix
	Ports  [numClasses][]PortRange
}

// PortRange is a disjoint, sorted range of destination ports and the rule
// that owns it.
type PortRange struct {
	Lo, Hi uint16
	Rule   int
}

// Rule is one allow rule of the policy.
type Rule struct {
	Name     string // "org/id", or "remediation/service": what counters report
	Org      string // "" for remediation rules
	ID       string
	Verdict  Verdict
	FailOpen bool
	Inspect  *rules.Inspect `json:"-"`
	Pos      rules.Pos      `json:"-"`
	// Agreement names the data-sharing agreement that granted the rule
	// ("id with party"); its effect is in the tables, so not in the digest.
	Agreement string `json:"-"`
	// Until is when that agreement expires (zero for other rules).
	Until time.Time `json:"-"`
}

// Lens returns the distinct prefix lengths of the given family (4 or 6)
// among prefixes, longest first: the datapath probes them in this order.
func Lens(prefixes []netip.Prefix, family int) []uint8 {
	seen := map[int]bool{}
	var out []uint8
	for _, p := range prefixes {
		if familyOf(p.Addr()) != family || seen[p.Bits()] {
			continue
		}
		seen[p.Bits()] = true
		out = append(out, uint8(p.Bits()))
	}
	sortDesc(out)
	return out
}

// SourcePrefixes returns an ingress's source prefixes.
func (in *Ingress) SourcePrefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(in.Sources))
	for i, s := range in.Sources {
		out[i] = s.Prefix
	}
	return out
}

// DestPrefixes returns a ruleset's destination prefixes.
func (rs *Ruleset) DestPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, len(rs.Dests))
	for i, d := range rs.Dests {
		out[i] = d.Prefix
	}
	return out
}

func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func sortDesc(s []uint8) {
	slices.Sort(s)
	slices.Reverse(s)
}
