package inspect_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// A ClientHello cut into six segments sent last-first, from a raw socket
// (the kernel's TCP never reorders on a veth): the inspector reassembles
// it and decides on the whole name, allowing one and refusing the other.
func testReordered(t *testing.T, il *inspectLab) {
	surrey := il.gw.Orgs["surrey"].NS
	// The host's own TCP would reset the handshake it never started.
	noRST := []string{"OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "DROP"}
	if out, err := surrey.Exec(context.Background(), "iptables", append([]string{"-A"}, noRST...)...); err != nil {
		t.Fatalf("iptables in the surrey host: %v: %s", err, out)
	}
	defer surrey.Exec(context.Background(), "iptables", append([]string{"-D"}, noRST...)...)
	for i, c := range []struct {
		sni, verdict, reason string
	}{
		{"reordered.cloud.psn.example", `verdict="allow"`, `reason="sni"`},
		{"evil.example", `verdict="drop"`, `reason="sni_not_allowed"`},
	} {
		before := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, c.verdict, c.reason)
		sport := uint16(42100 + i)
		if err := il.sendTCP("198.18.1.10", "198.19.20.30", sport, 5000, true, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		hello := captureHello(t, c.sni)
		step := (len(hello) + 5) / 6
		for off := 5 * step; off >= 0; off -= step {
			if off >= len(hello) {
				continue
			}
			if err := il.sendTCP("198.18.1.10", "198.19.20.30", sport, 5001+uint32(off), false, hello[off:min(off+step, len(hello))]); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, c.verdict, c.reason) == before {
			time.Sleep(100 * time.Millisecond)
		}
		if n := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, c.verdict, c.reason) - before; n != 1 {
			t.Errorf("%s sent in reverse order: %v decisions %s %s, want 1", c.sni, n, c.verdict, c.reason)
		}
	}
}

// sendTCP sends one TCP segment from a raw socket on the surrey host.
func (il *inspectLab) sendTCP(src, dst string, sport uint16, seq uint32, syn bool, payload []byte) error {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, Seq: seq, SYN: syn, ACK: !syn, PSH: len(payload) > 0, Ack: 1, Window: 64240}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(payload)); err != nil {
		return err
	}
	return il.gw.Orgs["surrey"].NS.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{}
		copy(to.Addr[:], net.ParseIP(dst).To4())
		return unix.Sendto(fd, buf.Bytes(), 0, to)
	})
}
