package lab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Raw frames let a test play an attacker on a link: the namespace's own
// stack would never send a neighbour solicitation to a global address, an
// ICMP error quoting someone else's flow or a hand-cut fragment. A Capture
// shows what reached a host's wire, before its own tc, firewall or sockets
// see it.

// MAC is the hardware address of ifname in the namespace.
func (n *NS) MAC(ifname string) (net.HardwareAddr, error) {
	ifi, err := n.iface(ifname)
	if err != nil {
		return nil, err
	}
	return ifi.HardwareAddr, nil
}

// SendFrame puts frame (Ethernet header included) on ifname as it is,
// past the namespace's routing and neighbour tables. The link's tc
// programs still run: an IP frame is tagged by its addresses as any other
// (see tagVLANs), a frame carrying its own 802.1Q header is left alone.
func (n *NS) SendFrame(ifname string, frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("frame of %d bytes on %s in %s: shorter than an Ethernet header", len(frame), ifname, n.Name)
	}
	ifi, err := n.iface(ifname)
	if err != nil {
		return err
	}
	return n.Do(func() error {
		// Protocol 0: a socket that only sends, so nothing queues on it.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket in %s: %w", n.Name, err)
		}
		defer unix.Close(fd)
		// The ethertype, in network order as the kernel takes it.
		to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: be16(binary.BigEndian.Uint16(frame[12:14]))}
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			return fmt.Errorf("send frame on %s in %s: %w", ifname, n.Name, err)
		}
		return nil
	})
}

// Capture records the frames an interface receives (not those it sends),
// in order, from Capture until Close. After captureMax frames it records
// nothing more, so an Await after that fails rather than a Count passing.
type Capture struct {
	what string
	fd   int

	mu     sync.Mutex
	frames [][]byte
	closed bool
	done   chan struct{}
}

const (
	captureMax = 20000
	// capturePoll is how long a read waits before looking at closed.
	capturePoll = 50 * time.Millisecond
)

// Capture starts recording what ifname in the namespace receives. The lab
// stops it when it closes, if the test has not.
func (n *NS) Capture(ifname string) (*Capture, error) {
	ifi, err := n.iface(ifname)
	if err != nil {
		return nil, err
	}
	c := &Capture{what: ifname + " in " + n.Name, done: make(chan struct{})}
	err = n.Do(func() (err error) {
		// Protocol 0 until bound, so no other interface's frame slips in.
		if c.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return fmt.Errorf("packet socket in %s: %w", n.Name, err)
		}
		tv := unix.NsecToTimeval(capturePoll.Nanoseconds())
		err = unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		if err == nil {
			err = unix.Bind(c.fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: be16(unix.ETH_P_ALL)})
		}
		if err != nil {
			unix.Close(c.fd)
			return fmt.Errorf("capture on %s: %w", c.what, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	go c.read()
	n.lab.onClose(func() { c.Close() })
	return c, nil
}

func (c *Capture) read() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		k, from, err := unix.Recvfrom(c.fd, buf, 0)
		c.mu.Lock()
		if c.closed || len(c.frames) >= captureMax {
			c.mu.Unlock()
			return
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if err == nil && ok && ll.Pkttype != unix.PACKET_OUTGOING {
			c.frames = append(c.frames, bytes.Clone(buf[:k]))
		}
		c.mu.Unlock()
		if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// Frames are the frames received so far. A frame that came with an
// 802.1Q tag is here without it: the kernel takes tags off before taps.
func (c *Capture) Frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// Count is how many frames received so far match.
func (c *Capture) Count(match func(frame []byte) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		if match(f) {
			n++
		}
	}
	return n
}

// Await waits until a received frame matches, up to timeout.
func (c *Capture) Await(what string, match func(frame []byte) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for c.Count(match) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("capture on %s: no %s within %v", c.what, what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Carrying matches the frames that contain sub anywhere.
func Carrying(sub []byte) func(frame []byte) bool {
	return func(f []byte) bool { return bytes.Contains(f, sub) }
}

// Close stops the capture; the frames stay readable. Safe to call twice.
func (c *Capture) Close() {
	c.mu.Lock()
	was := c.closed
	c.closed = true
	c.mu.Unlock()
	if was {
		return
	}
	<-c.done // the read returns within capturePoll
	unix.Close(c.fd)
}
