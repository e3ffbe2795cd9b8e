package engines

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/palisade-psn/palisade/bench/internal/baseline"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// xdpAttachment is a baseline program on a receiver. The stack engines need
// one too: live frames into a veth are only taken by an XDP program.
type xdpAttachment struct {
	objs baseline.BaselineObjects
	link link.Link
}

func (a *xdpAttachment) attach(ns *lab.NS, ifname string, pick func(*baseline.BaselineObjects) *ebpf.Program) error {
	if err := baseline.LoadBaselineObjects(&a.objs, nil); err != nil {
		return fmt.Errorf("load baseline programs: %w", err)
	}
	return ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("interface %s in %s: %w", ifname, ns.Name, err)
		}
		a.link, err = link.AttachXDP(link.XDPOptions{Program: pick(&a.objs), Interface: ifi.Index, Flags: link.XDPDriverMode})
		if err != nil {
			return fmt.Errorf("attach xdp to %s in %s: %w", ifname, ns.Name, err)
		}
		return nil
	})
}

func (a *xdpAttachment) close() error {
	var err error
	if a.link != nil {
		err = a.link.Close()
	}
	return errors.Join(err, a.objs.Close())
}

// XDPDrop drops every packet in XDP without looking at it: the ceiling any
// XDP firewall can reach on this path. With Read it first reads the
// destination address, which brings the frame's bytes to the receiving
// CPU: the ceiling for a firewall that looks at packets.
type XDPDrop struct {
	Read bool
	xdp  xdpAttachment
}

func (e *XDPDrop) Setup(p *Pair, _ *synth.Set, _ *policy.Compiled) (int, error) {
	return 0, e.xdp.attach(p.FW, p.RxIf, func(o *baseline.BaselineObjects) *ebpf.Program {
		if e.Read {
			return o.XdpReadDrop
		}
		return o.XdpDrop
	})
}

// Refused is the receiver's XDP drop count.
func (e *XDPDrop) Refused(p *Pair) (uint64, error) {
	st, err := VethStats(p.FW, p.RxIf)
	if err != nil {
		return 0, err
	}
	return SumQueues(st, "rx", "xdp_drops"), nil
}

func (e *XDPDrop) Close() error { return e.xdp.close() }

func passProgram(o *baseline.BaselineObjects) *ebpf.Program { return o.XdpPass }
