package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
)

// vethOffloads are set on every veth end of a gateway lab:
//   - gro on: a frame that XDP redirects into a veth is only delivered if
//     the peer end runs an XDP program or has GRO (NAPI) enabled;
//   - tx off: without checksum offload every frame carries a complete
//     checksum; XDP_REDIRECT loses the skb's "checksum pending" state, and
//     the receiver would drop such TCP and UDP frames as corrupt;
//   - txvlan off: VLAN tags are written into the frame rather than kept as
//     skb metadata, so XDP on the peer sees the 802.1Q header.
var vethOffloads = []string{"gro", "on", "tx", "off", "txvlan", "off"}

// addLink makes the host namespace for ls, the veth to it, its VLANs,
// addresses and routes (to dsts via the gateway), and records its hosts.
func (g *Gateway) addLink(ls LinkSpec, dsts []string, hosts map[string]*Host) error {
	hostIf := ls.HostIf
	if hostIf == "" {
		hostIf = "eth0"
	}
	h, err := g.Lab.NS(ls.Name)
	if err != nil {
		return err
	}
	if err := setSysctls(h, quietSysctls()); err != nil {
		return err
	}
	if err := g.Lab.Veth(g.GW, ls.GWIf, h, hostIf); err != nil {
		return err
	}
	g.GWIfs = append(g.GWIfs, ls.GWIf)
	for _, end := range []struct {
		ns *NS
		If string
	}{{g.GW, ls.GWIf}, {h, hostIf}} {
		if err := ethtool(end.ns, end.If, vethOffloads...); err != nil {
			return err
		}
	}
	host := &Host{NS: h, If: hostIf, Addrs: ls.Addrs, GWIf: ls.GWIf}
	if err := g.addressLink(host, ls.GWAddrs, dsts, "main"); err != nil {
		return err
	}
	if err := addHost(hosts, ls.Name, host); err != nil {
		return err
	}
	for _, v := range ls.VLANs {
		vh, err := g.addVLAN(h, ls, hostIf, v, dsts)
		if err != nil {
			return err
		}
		if err := addHost(hosts, v.Name, vh); err != nil {
			return err
		}
	}
	if len(ls.VLANs) == 0 {
		return nil
	}
	return g.tagVLANs(h, ls.GWIf, hostIf, ls.VLANs)
}

// addVLAN adds VLAN v to link ls. Its addresses go on the link's own veth
// ends (see tagVLANs) and get their own routing table on the host, chosen
// by source address, so traffic sent as a VLAN's prefix uses the VLAN's
// gateway address and is tagged, both ways, with the VLAN's id.
func (g *Gateway) addVLAN(h *NS, ls LinkSpec, hostIf string, v VLANSpec, dsts []string) (*Host, error) {
	host := &Host{NS: h, If: hostIf, Addrs: v.Addrs, GWIf: ls.GWIf, VLAN: v.ID}
	table := vlanTableBase + v.ID
	if err := g.addressLink(host, v.GWAddrs, dsts, strconv.Itoa(table)); err != nil {
		return nil, err
	}
	for _, a := range v.Addrs {
		if err := h.rule(a, table); err != nil {
			return nil, err
		}
	}
	return host, nil
}

// addressLink puts gwAddrs on the gateway end and the host's addresses on
// its end, then routes dsts from the host via the gateway, in table.
func (g *Gateway) addressLink(host *Host, gwAddrs, dsts []string, table string) error {
	for _, a := range gwAddrs {
		if err := g.GW.Addr(host.GWIf, a); err != nil {
			return err
		}
	}
	for _, a := range host.Addrs {
		if err := host.NS.Addr(host.If, a); err != nil {
			return err
		}
	}
	hops, err := nextHops(gwAddrs)
	if err != nil {
		return err
	}
	for _, dst := range dsts {
		for _, hop := range hops {
			if !sameFamily(dst, hop) {
				continue
			}
			if err := host.NS.route(table, dst, hop.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameFamily reports whether a route to dst can use next hop hop;
// "default" exists in both families.
func sameFamily(dst string, hop netip.Addr) bool {
	if dst == "default" {
		return true
	}
	p, err := netip.ParsePrefix(dst)
	return err == nil && p.Addr().Is4() == hop.Is4()
}

func addHost(hosts map[string]*Host, name string, h *Host) error {
	if _, dup := hosts[name]; dup {
		return fmt.Errorf("lab spec: host name %q used twice", name)
	}
	hosts[name] = h
	return nil
}

func ethtool(n *NS, ifname string, features ...string) error {
	args := append([]string{"-K", ifname}, features...)
	if _, err := n.Exec(context.Background(), "ethtool", args...); err != nil {
		return fmt.Errorf("set offloads on %s in %s: %w", ifname, n.Name, err)
	}
	return nil
}
