package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// rtnetlink tc constants missing from x/sys/unix (uapi/linux/pkt_sched.h).
const (
	tcHClsact        = 0xfffffff1
	tcHMinIngress    = 0xfff2
	tcHMinEgress     = 0xfff3
	tcaBPFFD         = 6
	tcaBPFName       = 7
	tcaBPFFlags      = 8
	tcaBPFActDirect  = 1
	ethPAll          = 0x0003
	tcFilterPriority = 1
)

// attachTC puts prog on ifname's ingress or egress in n as a direct-action
// cls_bpf filter under a clsact qdisc. Unlike a tcx link, the filter holds
// the program itself, so it lasts as long as the namespace, also after
// this process exits (`make demo` builds a lab and leaves it running).
func (n *NS) attachTC(ifname string, egress bool, prog *ebpf.Program) error {
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		defer unix.Close(fd)
		// Bound every wait for the kernel's answer.
		tv := unix.Timeval{Sec: 5}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		qdisc := tcMsg(ifi.Index, 0xffff0000, tcHClsact, 0)
		qdisc = append(qdisc, rtAttr(unix.TCA_KIND, []byte("clsact\x00"))...)
		if err := nlRequest(fd, unix.RTM_NEWQDISC, qdisc); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add clsact qdisc: %w", err)
		}
		parent := uint32(0xffff0000 | tcHMinIngress)
		if egress {
			parent = 0xffff0000 | tcHMinEgress
		}
		filter := tcMsg(ifi.Index, 0, parent, tcFilterPriority<<16|uint32(be16(ethPAll)))
		filter = append(filter, rtAttr(unix.TCA_KIND, []byte("bpf\x00"))...)
		opts := rtAttr(tcaBPFFD, binary.NativeEndian.AppendUint32(nil, uint32(prog.FD())))
		opts = append(opts, rtAttr(tcaBPFName, []byte("palisade_lab_vlan\x00"))...)
		opts = append(opts, rtAttr(tcaBPFFlags, binary.NativeEndian.AppendUint32(nil, tcaBPFActDirect))...)
		filter = append(filter, rtAttr(unix.TCA_OPTIONS|unix.NLA_F_NESTED, opts)...)
		if err := nlRequest(fd, unix.RTM_NEWTFILTER, filter); err != nil {
			return fmt.Errorf("add bpf filter: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("attach vlan tagger to %s (egress %v) in %s: %w", ifname, egress, n.Name, err)
	}
	return nil
}

// tcMsg is a struct tcmsg: family, pad, ifindex, handle, parent, info.
func tcMsg(ifindex int, handle, parent, info uint32) []byte {
	b := make([]byte, 4, 20)
	b = binary.NativeEndian.AppendUint32(b, uint32(int32(ifindex)))
	b = binary.NativeEndian.AppendUint32(b, handle)
	b = binary.NativeEndian.AppendUint32(b, parent)
	return binary.NativeEndian.AppendUint32(b, info)
}

// rtAttr is one netlink attribute, padded to 4 bytes.
func rtAttr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nlRequest sends one create request and waits for its acknowledgement.
func nlRequest(fd int, typ uint16, body []byte) error {
	const seq = 1
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK | unix.NLM_F_CREATE | unix.NLM_F_EXCL)
	msg := binary.NativeEndian.AppendUint32(nil, uint32(unix.SizeofNlMsghdr+len(body)))
	msg = binary.NativeEndian.AppendUint16(msg, typ)
	msg = binary.NativeEndian.AppendUint16(msg, flags)
	msg = binary.NativeEndian.AppendUint32(msg, seq)
	msg = binary.NativeEndian.AppendUint32(msg, 0)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for range 8 { // skip anything that is not our ack; bounded
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		if done, err := findAck(buf[:k], seq); done {
			return err
		}
	}
	return errors.New("no netlink acknowledgement")
}

// findAck looks for the NLMSG_ERROR answering seq among netlink messages;
// its errno (0 for success) is the request's result.
func findAck(b []byte, seq uint32) (done bool, err error) {
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return true, errors.New("malformed netlink message")
		}
		if typ == unix.NLMSG_ERROR && binary.NativeEndian.Uint32(b[8:]) == seq && l >= unix.SizeofNlMsghdr+4 {
			if errno := -int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:])); errno != 0 {
				return true, unix.Errno(errno)
			}
			return true, nil
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return false, nil
}
