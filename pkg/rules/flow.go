package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Flow is the first packet of a connection as an operator writes it for
// `palisade explain` and for expectation cases:
//
//	from: SRC[@IFACE[.VLAN[.INNER]]]   198.18.1.10@org0, 198.18.4.10@org1.300, 198.18.6.10@org1.400.10
//	to:   DST:PORT/PROTO       198.19.10.10:443/tcp, [2001:db8:10::10]:53/udp
//	      DST/icmp             198.19.10.10/icmp (echo)
//
// An empty Interface means "wherever Src is registered": the evaluator
// picks the ingress whose organisation owns the address.
type Flow struct {
	Src       netip.Addr
	Interface string
	VLAN      uint16
	InnerVLAN uint16 // QinQ: the tag inside VLAN
	Dst       netip.Addr
	Proto     Proto
	Port      uint16 // 0 for ICMP
}

func (f Flow) String() string {
	from := f.Src.String()
	if f.Interface != "" {
		from += "@" + f.Interface
		if f.VLAN != 0 {
			from += "." + strconv.Itoa(int(f.VLAN))
		}
		if f.InnerVLAN != 0 {
			from += "." + strconv.Itoa(int(f.InnerVLAN))
		}
	}
	if f.Proto == ProtoICMP {
		return from + " -> " + f.Dst.String() + "/icmp"
	}
	return from + " -> " + netip.AddrPortFrom(f.Dst, f.Port).String() + "/" + f.Proto.String()
}

// ParseFlow parses the from and to of a flow.
func ParseFlow(from, to string) (Flow, error) {
	var f Flow
	if err := f.parseFrom(from); err != nil {
		return f, err
	}
	if err := f.parseTo(to); err != nil {
		return f, err
	}
	if f.Src.Is4() != f.Dst.Is4() {
		return f, fmt.Errorf("from %s and to %s are of different IP families", f.Src, f.Dst)
	}
	return f, nil
}

func (f *Flow) parseFrom(s string) error {
	addr, where, hasWhere := strings.Cut(s, "@")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("from %q: want an address, optionally @interface[.vlan[.inner]], like 198.18.1.10@org0", s)
	}
	f.Src = a.Unmap()
	if !hasWhere {
		return nil
	}
	iface, tags, hasVLAN := strings.Cut(where, ".")
	if !validIfname(iface) {
		return fmt.Errorf("from %q: invalid interface name %q", s, iface)
	}
	f.Interface = iface
	if !hasVLAN {
		return nil
	}
	outer, inner, hasInner := strings.Cut(tags, ".")
	if f.VLAN, err = flowVLAN(s, outer); err == nil && hasInner {
		f.InnerVLAN, err = flowVLAN(s, inner)
	}
	return err
}

func flowVLAN(from, vlan string) (uint16, error) {
	v, err := strconv.ParseUint(vlan, 10, 16)
	if err != nil || v < 1 || v > 4094 {
		return 0, fmt.Errorf("from %q: vlan %q out of range 1-4094", from, vlan)
	}
	return uint16(v), nil
}

func (f *Flow) parseTo(s string) error {
	hostPort, proto, ok := cutLast(s, "/")
	if !ok {
		return fmt.Errorf("to %q: want DST:PORT/tcp, DST:PORT/udp or DST/icmp", s)
	}
	switch proto {
	case "icmp":
		a, err := netip.ParseAddr(strings.Trim(hostPort, "[]"))
		if err != nil {
			return fmt.Errorf("to %q: invalid address: %w", s, err)
		}
		f.Dst, f.Proto = a.Unmap(), ProtoICMP
		return nil
	case "tcp", "udp":
		ap, err := netip.ParseAddrPort(hostPort)
		if err != nil || ap.Port() == 0 {
			return fmt.Errorf("to %q: want DST:PORT with a port 1-65535 (IPv6 as [addr]:port)", s)
		}
		f.Dst, f.Port, f.Proto = ap.Addr().Unmap(), ap.Port(), ProtoTCP
		if proto == "udp" {
			f.Proto = ProtoUDP
		}
		return nil
	}
	return fmt.Errorf("to %q: unknown protocol %q; want tcp, udp or icmp", s, proto)
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
