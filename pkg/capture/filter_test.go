package capture

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/palisade-psn/palisade/internal/packets"
)

func TestFilter(t *testing.T) {
	a := netip.MustParseAddr
	syn443 := packets.Build(packets.Spec{Src: a("198.18.1.10"), Dst: a("198.19.10.10"), Proto: layers.IPProtocolTCP, SPort: 40000, DPort: 443, Flags: packets.SYN})
	dns6 := packets.Build(packets.Spec{Src: a("2001:db8:1::10"), Dst: a("2001:db8:20::53"), Proto: layers.IPProtocolUDP, SPort: 5353, DPort: 53})
	ping := packets.Build(packets.Spec{Src: a("198.18.1.10"), Dst: a("198.19.10.10"), Proto: layers.IPProtocolICMPv4})
	cases := []struct {
		expr             string
		syn, dns, icmpOK bool
	}{
		{"", true, true, true},
		{"tcp port 443", true, false, false},
		{"tcp and dst port 443", true, false, false},
		{"src port 443", false, false, false},
		{"udp or icmp", false, true, true},
		{"not tcp", false, true, true},
		{"ip6", false, true, false},
		{"host 198.19.10.10", true, false, true},
		{"src net 198.18.0.0/15 and not icmp", true, false, false},
		{"net 2001:db8:20::/48", false, true, false},
		{"portrange 50-60", false, true, false},
		{"( tcp or udp ) and port 53", false, true, false},
		{"!(icmp)", true, true, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if f.Match(syn443) != c.syn || f.Match(dns6) != c.dns || f.Match(ping) != c.icmpOK {
			t.Errorf("%q: syn %v dns %v icmp %v, want %v %v %v", c.expr, f.Match(syn443), f.Match(dns6), f.Match(ping), c.syn, c.dns, c.icmpOK)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, expr := range []string{"tcp port", "host nowhere", "port 70000", "(tcp", "ether host 00:11", "src tcp", "portrange 9-3"} {
		if _, err := ParseFilter(expr); err == nil {
			t.Errorf("%q was accepted", expr)
		}
	}
}

// A frame cut inside its IP header has no addresses: no filter selects it,
// not even a negated one (FuzzDecode found "not host" selecting it).
func TestFilterTruncatedHeader(t *testing.T) {
	a := netip.MustParseAddr
	syn := packets.Build(packets.Spec{Src: a("198.18.1.10"), Dst: a("198.19.10.10"), Proto: layers.IPProtocolTCP, SPort: 40000, DPort: 443, Flags: packets.SYN})
	for _, cut := range []int{15, 14 + 19, 14 + 16} {
		for _, expr := range []string{"not host 198.19.10.10", "not ip6", "not tcp"} {
			f, err := ParseFilter(expr)
			if err != nil {
				t.Fatal(err)
			}
			if f.Match(syn[:cut]) {
				t.Errorf("%q selects a frame cut at %d bytes", expr, cut)
			}
		}
	}
}
