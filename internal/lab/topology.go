package lab

import (
	"fmt"
	"net/netip"
	"strings"
)

// GatewaySpec describes a gateway lab: one gateway namespace and, on each
// side of it, links that each lead to a host namespace of their own.
type GatewaySpec struct {
	Gateway  string // gateway namespace role; "gw" if empty
	Orgs     []LinkSpec
	Services []LinkSpec
	// OrgRoutes are the destinations org hosts reach through the gateway.
	// Empty means the networks of the service links. Service hosts always
	// get default routes, so they can answer any org.
	OrgRoutes []string
}

// LinkSpec is one veth between the gateway and a host.
type LinkSpec struct {
	Name    string   // host namespace role and key in Gateway.Orgs/Services
	GWIf    string   // gateway end, e.g. "org0" (at most 15 bytes)
	GWAddrs []string // CIDRs on GWIf; the first of each family is the host's next hop
	HostIf  string   // host end; "eth0" if empty
	Addrs   []string // CIDRs on HostIf
	VLANs   []VLANSpec
}

// VLANSpec is an 802.1Q VLAN on a link: another organisation (or service)
// behind the same port, in the same host namespace as the link's untagged
// addresses. There are no VLAN subinterfaces (the lab kernel may have no
// 8021q): the addresses sit on the veth ends and a tc program tags frames
// by address on the wire, see tagVLANs.
type VLANSpec struct {
	Name    string   // key in Gateway.Orgs/Services
	ID      int      // 1..4094; the host routes its addresses in table vlanTableBase+ID
	GWAddrs []string // CIDRs on the link's GWIf
	Addrs   []string // CIDRs on the link's HostIf
}

// vlanTableBase keeps VLAN routing tables clear of the kernel's own
// (253 default, 254 main, 255 local).
const vlanTableBase = 1000

// Host is where a test sends from or to: addresses on an interface in a
// namespace. The hosts of a link's VLANs share its namespace and interface.
type Host struct {
	NS    *NS
	If    string   // e.g. "eth0"
	Addrs []string // CIDRs, in spec order
	GWIf  string   // the gateway interface it sits behind, e.g. "org1"
	VLAN  int      // 802.1Q id its frames carry on the link; 0 if untagged
}

// Gateway is a built gateway lab.
type Gateway struct {
	Lab      *Lab
	GW       *NS
	Orgs     map[string]*Host
	Services map[string]*Host
	GWIfs    []string // the gateway's veth ends, where XDP attaches
}

// NewGateway builds spec in l. On error the namespaces made so far stay
// owned by l; closing l removes them.
func NewGateway(l *Lab, spec GatewaySpec) (*Gateway, error) {
	name := spec.Gateway
	if name == "" {
		name = "gw"
	}
	gw, err := l.NS(name)
	if err != nil {
		return nil, err
	}
	if err := setSysctls(gw, append(quietSysctls(), forwardingSysctls...)); err != nil {
		return nil, err
	}
	g := &Gateway{Lab: l, GW: gw, Orgs: map[string]*Host{}, Services: map[string]*Host{}}
	orgRoutes := spec.OrgRoutes
	if len(orgRoutes) == 0 {
		orgRoutes = linkNetworks(spec.Services)
	}
	for _, ls := range spec.Orgs {
		if err := g.addLink(ls, orgRoutes, g.Orgs); err != nil {
			return nil, err
		}
	}
	for _, ls := range spec.Services {
		if err := g.addLink(ls, []string{"default"}, g.Services); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// IPs returns the host's addresses without prefix lengths, in spec order.
func (h *Host) IPs() []string {
	ips := make([]string, 0, len(h.Addrs))
	for _, a := range h.Addrs {
		if p, err := netip.ParsePrefix(a); err == nil {
			ips = append(ips, p.Addr().String())
		}
	}
	return ips
}

var forwardingSysctls = []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}

// quietSysctls are set in every lab namespace before its links exist, so
// new interfaces inherit them through the "default" entries: no reverse
// path filter (several prefixes share a link), and no DAD on link-local
// addresses, which would otherwise delay IPv6 by about a second.
func quietSysctls() []string {
	return []string{
		"net.ipv4.conf.all.rp_filter=0",
		"net.ipv4.conf.default.rp_filter=0",
		"net.ipv6.conf.all.accept_dad=0",
		"net.ipv6.conf.default.accept_dad=0",
	}
}

func setSysctls(n *NS, kvs []string) error {
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if err := n.Sysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

// linkNetworks lists the networks of the links' host addresses, each once.
func linkNetworks(links []LinkSpec) []string {
	var nets []string
	seen := map[string]bool{}
	add := func(cidrs []string) {
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil || seen[p.Masked().String()] {
				continue
			}
			seen[p.Masked().String()] = true
			nets = append(nets, p.Masked().String())
		}
	}
	for _, ls := range links {
		add(ls.Addrs)
		for _, v := range ls.VLANs {
			add(v.Addrs)
		}
	}
	return nets
}

// nextHops returns the first gateway address of each family in cidrs.
func nextHops(cidrs []string) ([]netip.Addr, error) {
	var hops []netip.Addr
	var have4, have6 bool
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("gateway address %q: %w", c, err)
		}
		if a := p.Addr(); (a.Is4() && !have4) || (a.Is6() && !have6) {
			hops = append(hops, a)
			have4, have6 = have4 || a.Is4(), have6 || a.Is6()
		}
	}
	return hops, nil
}
