package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
)

// derivedID names a rule that has no id by what it allows: "r-" and the
// first 8 hex digits of the SHA-256 of its sorted destinations and ports.
// The id so survives the rule moving within its file or the file being
// reformatted, and changes when the rule comes to mean something else —
// when its old counters would no longer describe it.
func derivedID(to []netip.Prefix, ports []PortRange) string {
	sum := sha256.Sum256([]byte(canonicalText(to, ports)))
	return "r-" + hex.EncodeToString(sum[:4])
}

// canonicalText is "to=<prefixes>;ports=<ports>", both sorted and comma
// separated, ports written as in the services file ("443/tcp", "icmp").
// Changing it changes every derived id, so it is fixed.
func canonicalText(to []netip.Prefix, ports []PortRange) string {
	ps := slices.SortedFunc(slices.Values(to), comparePrefix)
	rs := slices.SortedFunc(slices.Values(ports), comparePorts)
	var b strings.Builder
	b.WriteString("to=")
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	b.WriteString(";ports=")
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.String())
	}
	return b.String()
}
