package inspect

import (
	"testing"

	"github.com/palisade-psn/palisade/pkg/datapath"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// BenchmarkInspectClientHello is the userspace cost of deciding a flow: a
// queued packet carrying a whole ClientHello, decoded, reassembled and
// matched (the kernel's queue round trip is not included).
func BenchmarkInspectClientHello(b *testing.B) {
	t := &testing.T{}
	hello := clientHello(t, "files.cloud.psn.example")
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client.AsSlice(), DstIP: server.AsSlice()}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 100, ACK: true, Window: 100}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(hello))
	frame := buf.Bytes()
	d := newDecoder()
	tr, _, k := newTestTracker(40000)
	b.ReportAllocs()
	for b.Loop() {
		tr.keepStart(tr.org("surrey-cc"), k, 100) // where the stream starts, as the SYN said
		pk, ok := d.decode(frame)
		if !ok || tr.handle(pk, nil) != actAccept {
			b.Fatal("not allowed")
		}
		tr.remove(tr.flows[k]) // the next round is a new flow again
		tr.table.(*fakeTable).flows[k].Verdict = datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT
	}
}
