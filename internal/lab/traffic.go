package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Errors a test can tell apart with errors.Is: the exchange never got
// going (a TCP handshake did not complete, a socket could not be set up),
// or the request went out and the echo did not come back in time.
var (
	ErrConnect = errors.New("connect failed")
	ErrNoEcho  = errors.New("no echo")
)

// TCPExchange connects to addr, writes a short payload and reads it back.
func (n *NS) TCPExchange(addr string, timeout time.Duration) error {
	return n.TCPExchangeFrom("", addr, timeout)
}

// TCPExchangeFrom is TCPExchange from source address src ("" lets the
// kernel choose). src need not be local to the namespace, so a test can
// play a spoofing host; its replies will of course never arrive.
func (n *NS) TCPExchangeFrom(src, dst string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	what := fmt.Sprintf("tcp %s -> %s in %s", srcName(src), dst, n.Name)
	var c net.Conn
	err := n.Do(func() (err error) {
		d := net.Dialer{Deadline: deadline, Control: anySourceControl}
		if src != "" {
			a, err := netip.ParseAddr(src)
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		}
		c, err = d.Dial("tcp", dst)
		return err
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %w: handshake timed out after %v", what, ErrConnect, timeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %w", what, ErrConnect, err)
	}
	defer c.Close()
	if err := echoOnce(c, deadline); err != nil {
		return fmt.Errorf("%s: connected, but %w: %w", what, ErrNoEcho, err)
	}
	return nil
}

// UDPExchange sends one datagram to addr and waits for its echo.
func (n *NS) UDPExchange(addr string, timeout time.Duration) error {
	return n.UDPExchangeFrom("", addr, timeout)
}

// UDPExchangeFrom is UDPExchange from source address src. The datagram is
// sent up to 3 times, each try getting a third of the timeout, because a
// first packet can be lost while the gateway resolves a neighbour.
func (n *NS) UDPExchangeFrom(src, dst string, timeout time.Duration) error {
	what := fmt.Sprintf("udp %s -> %s in %s", srcName(src), dst, n.Name)
	c, err := n.dialUDP(src, dst, 0)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", what, ErrConnect, err)
	}
	defer c.Close()
	const tries = 3
	start := time.Now()
	for i := 1; i <= tries; i++ {
		err = echoOnce(c, start.Add(timeout*time.Duration(i)/tries))
		if err == nil {
			return nil
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			time.Sleep(timeout / tries / 10) // an ICMP error returns at once; pace the tries
		}
	}
	return fmt.Errorf("%s: %w after %d tries: %w", what, ErrNoEcho, tries, err)
}

// SendUDPFrom sends one datagram from src ("ip" or "ip:port", need not be
// local) to dst and does not wait for anything.
func (n *NS) SendUDPFrom(src, dst string, payload []byte) error {
	return n.sendUDP(src, dst, payload, 0)
}

// SendUDPFromVLAN is SendUDPFrom on a link with VLANs (see GatewaySpec),
// but the frame carries VLAN vlan (0: untagged) whatever its addresses
// say, so a test can send an organisation's prefix on another's VLAN.
func (n *NS) SendUDPFromVLAN(vlan int, src, dst string, payload []byte) error {
	if vlan < 0 || vlan > 4094 {
		return fmt.Errorf("vlan %d out of 0..4094", vlan)
	}
	return n.sendUDP(src, dst, payload, markVLAN|vlan)
}

func (n *NS) sendUDP(src, dst string, payload []byte, mark int) error {
	c, err := n.dialUDP(src, dst, mark)
	if err != nil {
		return fmt.Errorf("udp %s -> %s in %s: %w", srcName(src), dst, n.Name, err)
	}
	defer c.Close()
	if _, err := c.Write(payload); err != nil {
		return fmt.Errorf("udp %s -> %s in %s: send: %w", srcName(src), dst, n.Name, err)
	}
	return nil
}

// dialUDP makes a connected UDP socket inside the namespace, so the kernel
// drops datagrams from anyone but dst and reports ICMP errors to us. A
// non-zero mark is set as SO_MARK on the socket.
func (n *NS) dialUDP(src, dst string, mark int) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
			if err := anySourceControl(network, address, c); err != nil || mark == 0 {
				return err
			}
			return setOpts(c, unix.SOL_SOCKET, mark, unix.SO_MARK)
		}}
		if src != "" {
			if _, perr := netip.ParseAddr(src); perr == nil {
				src = net.JoinHostPort(src, "0") // a bare address: any port
			}
			if d.LocalAddr, err = net.ResolveUDPAddr("udp", src); err != nil {
				return err
			}
		}
		c, err = d.Dial("udp", dst)
		return err
	})
	return c, err
}

// echoOnce writes a fresh random payload and waits until the same bytes
// come back, ignoring at most a few stale echoes of earlier tries.
func echoOnce(c net.Conn, deadline time.Time) error {
	tag, err := randomHex(8)
	if err != nil {
		return err
	}
	want := []byte("palisade-lab " + tag)
	c.SetDeadline(deadline)
	if _, err := c.Write(want); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	got := make([]byte, 2048)
	for range 8 {
		var k int
		if _, stream := c.(*net.TCPConn); stream {
			k, err = io.ReadFull(c, got[:len(want)])
		} else {
			k, err = c.Read(got)
		}
		if err != nil {
			return err
		}
		if bytes.Equal(got[:k], want) {
			return nil
		}
	}
	return errors.New("only unexpected replies")
}

func srcName(src string) string {
	if src == "" {
		return "(any)"
	}
	return src
}
