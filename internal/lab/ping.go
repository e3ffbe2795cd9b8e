package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// IANA protocol numbers, as icmp.ParseMessage wants them.
const (
	protoICMP   = 1
	protoICMPv6 = 58
)

// Ping sends one ICMP or ICMPv6 echo request to dst and waits for the
// matching reply.
func (n *NS) Ping(dst string, timeout time.Duration) error {
	return n.PingFrom("", dst, timeout)
}

// PingFrom is Ping from source address src ("" lets the kernel choose; a
// non-local src is allowed, for spoofing tests). It uses a raw socket
// rather than ping(8) so the reply is matched by id and sequence exactly.
func (n *NS) PingFrom(src, dst string, timeout time.Duration) error {
	return n.PingData(src, dst, []byte("palisade-lab ping"), timeout)
}

// PingData is PingFrom carrying data, which the reply must carry back
// whole: data longer than the path's MTU tests fragments both ways.
func (n *NS) PingData(src, dst string, data []byte, timeout time.Duration) error {
	what := fmt.Sprintf("ping %s -> %s (%d bytes) in %s", srcName(src), dst, len(data), n.Name)
	to, err := netip.ParseAddr(dst)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	to = to.Unmap()
	c, err := n.listenICMP(src, to.Is6())
	if err != nil {
		return fmt.Errorf("%s: %w: %w", what, ErrConnect, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))

	var idSeq [4]byte
	rand.Read(idSeq[:])
	echo := &icmp.Echo{
		ID:   int(binary.BigEndian.Uint16(idSeq[0:])),
		Seq:  int(binary.BigEndian.Uint16(idSeq[2:])),
		Data: data,
	}
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: echo}
	if to.Is6() {
		// The kernel fills in the ICMPv6 checksum on raw sockets.
		req.Type = ipv6.ICMPTypeEchoRequest
	}
	b, err := req.Marshal(nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: to.AsSlice()}); err != nil {
		return fmt.Errorf("%s: %w: send: %w", what, ErrConnect, err)
	}
	if err := awaitEchoReply(c, to, echo, timeout); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// listenICMP opens a raw ICMP socket inside the namespace, filtered to echo
// replies so neighbour discovery and other chatter do not crowd them out.
func (n *NS) listenICMP(src string, v6 bool) (net.PacketConn, error) {
	network, laddr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:ipv6-icmp", "::"
	}
	lc := net.ListenConfig{}
	if src != "" {
		laddr, lc.Control = src, anySourceControl
	}
	var c net.PacketConn
	err := n.Do(func() (err error) {
		c, err = lc.ListenPacket(context.Background(), network, laddr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if v6 {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		err = ipv6.NewPacketConn(c).SetICMPFilter(&f)
	} else {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		err = ipv4.NewPacketConn(c).SetICMPFilter(&f)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("icmp filter: %w", err)
	}
	return c, nil
}

// awaitEchoReply reads until the reply to want arrives from peer, the
// deadline set on c passes, or too many unrelated replies have been seen.
func awaitEchoReply(c net.PacketConn, peer netip.Addr, want *icmp.Echo, timeout time.Duration) error {
	proto := protoICMP
	if peer.Is6() {
		proto = protoICMPv6
	}
	buf := make([]byte, len(want.Data)+1500)
	for range 64 {
		k, from, err := c.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("%w within %v: %w", ErrNoEcho, timeout, err)
		}
		if a, ok := netip.AddrFromSlice(from.(*net.IPAddr).IP); !ok || a.Unmap() != peer {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:k])
		if err != nil {
			continue
		}
		got, ok := m.Body.(*icmp.Echo)
		if ok && (m.Type == ipv4.ICMPTypeEchoReply || m.Type == ipv6.ICMPTypeEchoReply) &&
			got.ID == want.ID && got.Seq == want.Seq && bytes.Equal(got.Data, want.Data) {
			return nil
		}
	}
	return fmt.Errorf("%w: only unrelated echo replies", ErrNoEcho)
}
