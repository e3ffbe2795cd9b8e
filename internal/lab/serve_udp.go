package lab

import (
	"context"
	"fmt"
	"io"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ServeUDP starts a UDP echo server on addr. Each reply leaves from the
// address the datagram was sent to, so a host with several addresses
// (svcB) answers as the one the client asked. A wildcard "[::]" or ":port"
// opens one IPv4 and one IPv6 socket, because per-packet source selection
// does not work for v4-mapped addresses on a dual-stack socket.
func (n *NS) ServeUDP(addr string) (stop func(), err error) {
	network, err := sockNetwork("udp", addr)
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	binds := map[string]string{network: addr}
	if network == "udp" {
		binds = map[string]string{"udp4": net.JoinHostPort("0.0.0.0", port), "udp6": net.JoinHostPort("::", port)}
	}
	s := &echoServer{}
	for netw, a := range binds {
		d, err := n.listenDatagrams(netw, a)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("udp echo on %s in %s: %w", addr, n.Name, err)
		}
		s.closers = append(s.closers, d)
		s.wg.Add(1)
		go s.datagramLoop(d)
	}
	n.lab.onClose(s.stop)
	return s.stop, nil
}

// datagramEcho reads one datagram and answers it from its destination.
type datagramEcho interface {
	io.Closer
	echoOne(buf []byte) error
}

func (n *NS) listenDatagrams(network, addr string) (datagramEcho, error) {
	var pc net.PacketConn
	err := n.Do(func() (err error) {
		lc := net.ListenConfig{Control: freebindControl}
		pc, err = lc.ListenPacket(context.Background(), network, addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if network == "udp4" {
		p := ipv4.NewPacketConn(pc)
		err = p.SetControlMessage(ipv4.FlagDst, true)
		return echo4{p}, closeOnErr(pc, err)
	}
	p := ipv6.NewPacketConn(pc)
	err = p.SetControlMessage(ipv6.FlagDst, true)
	return echo6{p}, closeOnErr(pc, err)
}

func closeOnErr(c io.Closer, err error) error {
	if err != nil {
		c.Close()
		return fmt.Errorf("ask for packet info: %w", err)
	}
	return nil
}

// datagramLoop ends when stop closes the socket. Failed replies (no route,
// say) do not end it: only a failed read does.
func (s *echoServer) datagramLoop(d datagramEcho) {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for d.echoOne(buf) == nil {
	}
}

type echo4 struct{ *ipv4.PacketConn }

func (e echo4) echoOne(buf []byte) error {
	n, cm, peer, err := e.ReadFrom(buf)
	if err != nil {
		return err
	}
	var reply *ipv4.ControlMessage
	if cm != nil {
		reply = &ipv4.ControlMessage{Src: cm.Dst}
	}
	e.WriteTo(buf[:n], reply, peer)
	return nil
}

type echo6 struct{ *ipv6.PacketConn }

func (e echo6) echoOne(buf []byte) error {
	n, cm, peer, err := e.ReadFrom(buf)
	if err != nil {
		return err
	}
	var reply *ipv6.ControlMessage
	if cm != nil {
		reply = &ipv6.ControlMessage{Src: cm.Dst}
	}
	e.WriteTo(buf[:n], reply, peer)
	return nil
}
