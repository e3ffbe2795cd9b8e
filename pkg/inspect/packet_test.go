package inspect

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecode(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{198, 18, 1, 10}, DstIP: net.IP{198, 19, 20, 30}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, ACK: true, PSH: true, Window: 100}
	tcp.SetNetworkLayerForChecksum(ip)
	whole := serialize(t, ip, tcp, gopacket.Payload("hello"))
	d := newDecoder()
	pk, ok := d.decode(whole)
	if !ok || pk.sport != 40000 || pk.dport != 443 || pk.seq != 7 || string(pk.payload) != "hello" || pk.fragment {
		t.Fatalf("whole segment: %+v ok=%v", pk, ok)
	}
	first := *ip
	first.Flags = layers.IPv4MoreFragments
	pk, ok = d.decode(serialize(t, &first, gopacket.Payload(whole[20:36])))
	if !ok || !pk.fragment || pk.sport != 40000 || pk.dport != 443 || pk.proto != 6 {
		t.Errorf("first fragment: %+v ok=%v; want its ports and fragment set", pk, ok)
	}
	later := *ip
	later.FragOffset = 2
	pk, ok = d.decode(serialize(t, &later, gopacket.Payload(whole[36:])))
	if !ok || !pk.fragment || pk.sport != 0 {
		t.Errorf("later fragment: %+v ok=%v; want no ports", pk, ok)
	}
	if _, ok := d.decode([]byte{0x45, 0}); ok {
		t.Errorf("truncated packet decoded")
	}
}
