package capture

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
)

// TestPcapngReadable writes packets on two interfaces and reads them back
// with an independent reader.
func TestPcapngReadable(t *testing.T) {
	var buf bytes.Buffer
	s, err := newNgSink(&buf, HeaderSnaplen)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 123456789)
	for i, iface := range []string{"org0", "svc0", "org0"} {
		p := &Packet{Time: at, Iface: iface, Ifindex: uint32(len(iface) + i%2), Length: 1500,
			Data: bytes.Repeat([]byte{byte(i)}, 61), Comment: "org=surrey-cc verdict=allow"}
		if err := s.write(p); err != nil {
			t.Fatal(err)
		}
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < 10; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if len(data) != 61 || ci.Length != 1500 || !ci.Timestamp.Equal(at) || data[0] != byte(n) {
			t.Errorf("packet %d: len %d of %d at %v", n, len(data), ci.Length, ci.Timestamp)
		}
	}
	if n != 3 || r.NInterfaces() != 2 {
		t.Errorf("read %d packets on %d interfaces, want 3 on 2", n, r.NInterfaces())
	}
}
