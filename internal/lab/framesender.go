package lab

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// FrameSender puts frames on one interface through one packet socket made
// once, for a test that sends many (a flood): SendFrame makes a socket and
// switches namespaces for every frame, which costs far more than the frame
// and makes a flood's rate follow the machine's load. Frames go out as
// SendFrame's do: as they are, with the link's tc programs still run.
type FrameSender struct {
	what    string
	ifindex int
	fd      int
	once    sync.Once
}

// FrameSender opens a sender on ifname in the namespace. The lab closes it
// when it closes, if the test has not.
func (n *NS) FrameSender(ifname string) (*FrameSender, error) {
	ifi, err := n.iface(ifname)
	if err != nil {
		return nil, err
	}
	s := &FrameSender{what: ifname + " in " + n.Name, ifindex: ifi.Index}
	err = n.Do(func() (err error) {
		// Protocol 0: a socket that only sends, so nothing queues on it.
		s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("packet socket for %s: %w", s.what, err)
	}
	n.lab.onClose(s.Close)
	return s, nil
}

// Send puts frame (Ethernet header included) on the interface. Not to be
// called once Close may have been.
func (s *FrameSender) Send(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("frame of %d bytes on %s: shorter than an Ethernet header", len(frame), s.what)
	}
	to := &unix.SockaddrLinklayer{Ifindex: s.ifindex, Protocol: be16(binary.BigEndian.Uint16(frame[12:14]))}
	if err := unix.Sendto(s.fd, frame, 0, to); err != nil {
		return fmt.Errorf("send frame on %s: %w", s.what, err)
	}
	return nil
}

// Close closes the socket. Safe to call twice.
func (s *FrameSender) Close() { s.once.Do(func() { unix.Close(s.fd) }) }
