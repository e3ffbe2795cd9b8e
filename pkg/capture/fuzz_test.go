package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/palisade-psn/palisade/internal/packets"
)

// fuzzFrames are what filter properties are checked against: each protocol
// and family the filter names, tagged and untagged, a later fragment (no
// ports) and a frame decode refuses.
func fuzzFrames() [][]byte {
	a := netip.MustParseAddr
	v4a, v4b, v6a, v6b := a("198.18.1.10"), a("198.19.10.10"), a("2001:db8:1::10"), a("2001:db8:20::53")
	specs := []packets.Spec{
		{Src: v4a, Dst: v4b, Proto: layers.IPProtocolTCP, SPort: 40000, DPort: 443, Flags: packets.SYN},
		{Src: v4b, Dst: v4a, Proto: layers.IPProtocolTCP, SPort: 443, DPort: 40000, Flags: packets.SYN | packets.ACK},
		{Src: v6a, Dst: v6b, Proto: layers.IPProtocolUDP, SPort: 5353, DPort: 53},
		{Src: v4a, Dst: v4b, Proto: layers.IPProtocolICMPv4},
		{Src: v6a, Dst: v6b, Proto: layers.IPProtocolICMPv6},
		{VLANs: []uint16{0}, Src: v4a, Dst: v4b, Proto: layers.IPProtocolUDP, SPort: 55, DPort: 8080},
		{VLANs: []uint16{7, 100}, Src: v6b, Dst: v6a, Proto: layers.IPProtocolTCP, SPort: 22, DPort: 65535},
		{Src: v4a, Dst: v4b, Proto: layers.IPProtocolTCP, Frag: &packets.Frag{ID: 9, Offset: 3}},
		{Src: v4a, Dst: v4b, Proto: layers.IPProtocol(47), Payload: []byte{0, 0, 8, 0}},
	}
	var out [][]byte
	for _, s := range specs {
		out = append(out, packets.Build(s))
	}
	return append(out, []byte{0x02, 0, 0, 0, 0, 2}) // too short to decode
}

// FuzzParseFilter compiles arbitrary expressions. Whatever the text,
// ParseFilter must not panic and returns a filter or an error, never both.
// A filter that compiles must select the same frames when its tokens are
// re-spaced (the form the parser reads), parenthesised or or-ed with
// itself, and "not (e)" must select exactly the decodable frames e does
// not: the combinators mean what they say however they are nested.
func FuzzParseFilter(f *testing.F) {
	seeds := []string{
		"", "tcp port 443", "tcp and dst port 443", "src port 443", "udp or icmp", "not tcp", "ip6",
		"host 198.19.10.10", "src net 198.18.0.0/15 and not icmp", "net 2001:db8:20::/48",
		"portrange 50-60", "( tcp or udp ) and port 53", "!(icmp)", "tcp port", "host nowhere",
		"port 70000", "(tcp", "ether host 00:11", "src tcp", "portrange 9-3", "not not !!(ip6)",
		"dst host fe80::1%eth0 || src host ::ffff:198.18.1.10", "((((udp))))and port 65535 or ip",
		"tcp) (udp", "net 198.18.1.10/8", "portrange 0-0 or portrange 65535-65535", "icmp6 && ! ip",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	frames := fuzzFrames()
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr)
		if (flt == nil) == (err == nil) {
			t.Fatalf("filter %v and error %v", flt, err)
		}
		if err != nil {
			return
		}
		variants := map[string]string{
			"re-spaced":     strings.Join(tokenize(expr), " "),
			"parenthesised": "(" + expr + ")",
			"or-ed":         "(" + expr + ") or (" + expr + ")",
		}
		if len(tokenize(expr)) == 0 {
			return // the empty filter passes all; it has no negation
		}
		not, err := ParseFilter("not (" + expr + ")")
		if err != nil {
			t.Fatalf("not (%s): %v", expr, err)
		}
		for name, v := range variants {
			g, err := ParseFilter(v)
			if err != nil {
				t.Fatalf("%s %q: %v", name, v, err)
			}
			for i, fr := range frames {
				if g.Match(fr) != flt.Match(fr) {
					t.Errorf("frame %d: %s %q selects %v, %q %v", i, name, v, g.Match(fr), expr, flt.Match(fr))
				}
			}
		}
		for i, fr := range frames {
			_, ok := decode(fr)
			if want := ok && !flt.Match(fr); not.Match(fr) != want {
				t.Errorf("frame %d (decodes %v): not (%s) selects %v, want %v", i, ok, expr, not.Match(fr), want)
			}
		}
	})
}

// FuzzDecode reads arbitrary frames as a capture does. Whatever the bytes,
// decode must not panic; what it reports must come from the outermost IP
// header at the offset Ethernet and its VLAN tags put it (both addresses of
// that header's family); ports only with TCP or UDP. A frame written to a
// pcapng file reads back unchanged with an independent reader.
func FuzzDecode(f *testing.F) {
	for _, fr := range fuzzFrames() {
		f.Add(fr)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		fl, ok := decode(frame)
		if !ok {
			if fl != nil {
				t.Fatalf("fields %+v for a frame decode refused", fl)
			}
		} else {
			checkFields(t, frame, fl)
		}
		checkPcapng(t, frame)
	})
}

func checkFields(t *testing.T, frame []byte, fl *fields) {
	if !fl.src.IsValid() || !fl.dst.IsValid() || fl.src.Is4() != fl.dst.Is4() {
		t.Fatalf("addresses %v and %v", fl.src, fl.dst)
	}
	if fl.ports && fl.proto != 6 && fl.proto != 17 {
		t.Fatalf("ports %d -> %d with protocol %d", fl.sport, fl.dport, fl.proto)
	}
	off, et := 14, binary.BigEndian.Uint16(frame[12:14])
	for (et == 0x8100 || et == 0x88a8) && len(frame) >= off+4 {
		et, off = binary.BigEndian.Uint16(frame[off+2:off+4]), off+4
	}
	var src, dst []byte
	switch et {
	case 0x0800:
		src, dst = frame[off+12:off+16], frame[off+16:off+20]
	case 0x86dd:
		src, dst = frame[off+8:off+24], frame[off+24:off+40]
	default:
		return // reached through a layer gopacket knows and this check does not (MPLS, LLC)
	}
	if !bytes.Equal(fl.src.AsSlice(), src) || !bytes.Equal(fl.dst.AsSlice(), dst) {
		t.Fatalf("addresses %v -> %v, the header at %d says %x -> %x", fl.src, fl.dst, off, src, dst)
	}
}

func checkPcapng(t *testing.T, frame []byte) {
	var buf bytes.Buffer
	s, err := newNgSink(&buf, FullSnaplen)
	if err != nil {
		t.Fatal(err)
	}
	frame = frame[:min(len(frame), FullSnaplen)] // what a capture keeps
	at := time.Unix(1700000000, 123456789)
	p := &Packet{Time: at, Iface: "org0", Ifindex: 3, Length: len(frame) + 7, Data: frame, Comment: "org=a verdict=drop reason=no_rule"}
	if err := s.write(p); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(data, frame) || ci.Length != p.Length || !ci.Timestamp.Equal(at) {
		t.Fatalf("read back %d bytes of %d at %v, wrote %d of %d", len(data), ci.Length, ci.Timestamp, len(frame), p.Length)
	}
}
