package inspect_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// tlsExchange completes a TLS handshake naming sni and trades rounds lines
// with the server; chunk > 0 sends everything in segments of chunk bytes.
func (il *inspectLab) tlsExchange(host, src, dst, sni string, rounds, chunk int) error {
	c, err := il.dial(host, src, dst, 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(4 * time.Second))
	var conn net.Conn = c
	if chunk > 0 {
		conn = chunked{c, chunk}
	}
	cfg := il.tls.client(sni)
	if sni == "" {
		cfg = &tls.Config{InsecureSkipVerify: true} // no ServerName: no SNI sent
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	r := bufio.NewReader(tc)
	for i := range rounds {
		if _, err := fmt.Fprintf(tc, "ping %d\n", i); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("pong ping %d\n", i); line != want {
			return fmt.Errorf("got %q, want %q", line, want)
		}
	}
	return nil
}

// httpGet sends one HTTP/1.1 request naming host and returns the status line.
func (il *inspectLab) httpGet(src, host string) (string, error) {
	c, err := il.dial("surrey", src, intranet, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if len(b) == 0 {
		return "", err
	}
	return strings.SplitN(string(b), "\r\n", 2)[0], nil
}

// dnsUDP asks the resolver from the police host; it returns the answer.
func (il *inspectLab) dnsUDP(query []byte) ([]byte, error) {
	c, err := il.dnsSocket()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return askUDP(c, query)
}

// dnsSocket is a UDP socket of the police host connected to the
// resolver: one 5-tuple for as many queries as are asked on it.
func (il *inspectLab) dnsSocket() (net.Conn, error) {
	var c net.Conn
	err := il.gw.Orgs["police"].NS.Do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP("198.18.3.10")}}
		c, err = d.Dial("udp", resolver)
		return err
	})
	return c, err
}

func askUDP(c net.Conn, query []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	return buf[:n], err
}

// dnsTCP asks the same over TCP (length-prefixed).
func (il *inspectLab) dnsTCP(query []byte) ([]byte, error) {
	c, err := il.dial("police", "198.18.3.10", resolver, 3*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(append([]byte{byte(len(query) >> 8), byte(len(query))}, query...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	a := make([]byte, int(l[0])<<8|int(l[1]))
	_, err = io.ReadFull(c, a)
	return a, err
}

// sendFragmentedSYN sends, from a raw socket on the surrey host, a SYN that
// carries payload, cut into two IPv4 fragments after fragAt bytes of the
// TCP segment (a multiple of 8).
func (il *inspectLab) sendFragmentedSYN(src, dst string, sport uint16, payload []byte, fragAt int) error {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Id: 0x4242,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: 443, Seq: 1000, SYN: true, Window: 64240}
	tcp.SetNetworkLayerForChecksum(ip)
	seg := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(seg, opts, tcp, gopacket.Payload(payload)); err != nil {
		return err
	}
	l4 := seg.Bytes()
	var frames [][]byte
	for i, part := range [][]byte{l4[:fragAt], l4[fragAt:]} {
		f := *ip
		if i == 0 {
			f.Flags = layers.IPv4MoreFragments
		} else {
			f.FragOffset = uint16(fragAt / 8)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, &f, gopacket.Payload(part)); err != nil {
			return err
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
	}
	return il.gw.Orgs["surrey"].NS.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{}
		copy(to.Addr[:], net.ParseIP(dst).To4())
		for _, fr := range frames {
			if err := unix.Sendto(fd, fr, 0, to); err != nil {
				return err
			}
		}
		return nil
	})
}
