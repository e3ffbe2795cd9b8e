// Package engines sets up each firewall the benchmark compares, in its own
// pair of namespaces, all enforcing the same synthetic rules, and reads how
// many packets each one refused (for the accounting check).
package engines

import (
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Engine is one firewall under test.
type Engine interface {
	// Setup configures the engine in p.FW for set (c is set compiled for
	// ingress p.RxIf) and says how many entries it holds.
	Setup(p *Pair, set *synth.Set, c *policy.Compiled) (entries int, err error)
	// Refused is how many packets the engine has refused so far.
	Refused(p *Pair) (uint64, error)
	// Close releases what Setup made outside the namespaces.
	Close() error
}

// Kind is an engine the suite knows how to build.
type Kind struct {
	Name    string
	Backend string
	Scales  bool // enforces the rule set; false: the same at every rule count
	Needs   []string
	New     func() Engine
}

// Kinds lists the engines in the order results show them.
func Kinds() []Kind {
	return []Kind{
		{results.Palisade, "XDP (native, veth)", true, nil, func() Engine { return &Palisade{} }},
		{results.NFTSet, "nf_tables, concatenated interval set", true, []string{"nft"}, func() Engine { return &NFTSet{} }},
		{results.IPSet, "hash:ip,port,net + iptables-legacy", true, []string{results.IPSet, "iptables-legacy-restore"}, func() Engine { return &IPSet{} }},
		{results.IPTablesLegacy, "x_tables (legacy), linear chain", true, []string{"iptables-legacy-restore"}, func() Engine { return &Linear{Tool: "iptables-legacy"} }},
		{results.IPTablesNFT, "nf_tables via iptables-nft, linear chain", true, []string{"iptables-nft-restore", "nft"}, func() Engine { return &Linear{Tool: "iptables-nft"} }},
		{results.StackFloor, "XDP_PASS + one nf_tables drop rule", false, []string{"nft"}, func() Engine { return &NFTSet{Floor: true} }},
		{results.XDPDrop, "XDP (native, veth), drops everything", false, nil, func() Engine { return &XDPDrop{} }},
		{results.XDPReadDrop, "XDP (native, veth), reads the destination, drops", false, nil, func() Engine { return &XDPDrop{Read: true} }},
	}
}

// Names lists the engines' names, in Kinds' order.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}
