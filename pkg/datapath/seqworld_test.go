package datapath

import (
	"net/netip"
	"strings"
)

// The sequence fuzzer's world: the gateway namespace's links, addresses,
// routes and neighbours, set up for real by seqharness_test.go and known
// to the reference model, which answers bpf_fib_lookup from them. The
// organisations and services are testdata/seqfuzz.

// seqIfaces are the interfaces the program is attached to (and in
// tx_ports). vl100 and vlq stand for VLAN devices of org1 (this kernel
// may have no 8021q): routes through them lead back to org1 with tags
// 100, and 300 then 7, once vlan_devs says so.
var (
	seqIfaces   = []string{"org0", "org1", "org2", "svc0", "svc1"}
	seqVLANDevs = map[string]seqVLANDev{"vl100": {"org1", 100, 0}, "vlq": {"org1", 300, 7}}
	seqNoFwd    = map[string]bool{"org2": true} // forwarding off: the table cannot answer there
)

type seqVLANDev struct {
	parent      string
	vlan, inner uint16
}

// seqAddrs are the gateway's own addresses: each makes a connected route
// and a local one (and an IPv4 broadcast, an IPv6 subnet-router anycast
// where forwarding is on).
var seqAddrs = []struct{ dev, cidr string }{
	{"org0", "198.18.1.1/24"}, {"org0", "198.18.6.1/24"}, {"org0", "2001:db8:1::1/64"}, {"org0", "2001:db8:6::1/64"},
	{"org1", "198.18.3.1/24"}, {"org1", "198.18.4.1/24"}, {"org1", "2001:db8:3::1/64"}, {"org1", "2001:db8:4::1/64"},
	{"vl100", "198.18.2.1/24"}, {"vl100", "2001:db8:2::1/64"},
	{"vlq", "198.18.5.1/24"}, {"vlq", "2001:db8:5::1/64"},
	{"org2", "198.18.7.1/24"}, {"org2", "2001:db8:7::1/64"},
	{"svc0", "198.19.10.1/24"}, {"svc0", "198.19.20.1/24"}, {"svc0", "2001:db8:10::1/64"}, {"svc0", "2001:db8:20::1/64"},
	{"svc1", "198.19.30.1/24"}, {"svc1", "2001:db8:30::1/64"},
}

// Route kinds, as `ip route add [TYPE] PREFIX` takes them.
const (
	rtUnicast     = ""
	rtBlackhole   = "blackhole"
	rtUnreachable = "unreachable"
	rtProhibit    = "prohibit"
)

type seqRoute struct {
	prefix netip.Prefix
	kind   string
	dev    string
	via    netip.Addr // zero: on link
}

func viaRoute(p, dev, via string) seqRoute {
	r := seqRoute{prefix: netip.MustParsePrefix(p), dev: dev}
	if via != "" {
		r.via = netip.MustParseAddr(via)
	}
	return r
}

func rejectRoute(kind, p string) seqRoute {
	return seqRoute{prefix: netip.MustParsePrefix(p), kind: kind}
}

// seqRoutes are the routes added beyond the connected ones.
var seqRoutes = []seqRoute{
	viaRoute("2001:db8:1::/48", "org0", ""), viaRoute("2001:db8:6::/48", "org0", ""),
	viaRoute("2001:db8:3::/48", "org1", ""), viaRoute("2001:db8:4::/48", "org1", ""),
	viaRoute("2001:db8:2::/48", "vl100", ""), viaRoute("2001:db8:5::/48", "vlq", ""),
	viaRoute("2001:db8:7::/48", "org2", ""),
	viaRoute("2001:db8:10::/48", "svc0", ""), viaRoute("2001:db8:20::/48", "svc0", ""),
	viaRoute("2001:db8:30::/48", "svc1", ""),
	// Parts of registered prefixes routed elsewhere: their sources fail
	// the reverse-path check on their organisation's own ingress.
	viaRoute("198.18.1.128/25", "org1", ""), viaRoute("2001:db8:1:ff::/64", "svc1", ""), viaRoute("198.18.4.64/26", "vl100", ""),
	viaRoute("198.19.40.0/24", "svc0", "198.19.10.254"), viaRoute("2001:db8:40::/48", "svc0", "2001:db8:10::fe"),
	rejectRoute(rtBlackhole, "198.19.66.0/24"), rejectRoute(rtUnreachable, "198.19.67.0/24"), rejectRoute(rtProhibit, "198.19.68.0/24"),
	rejectRoute(rtBlackhole, "2001:db8:66::/48"), rejectRoute(rtUnreachable, "2001:db8:67::/48"), rejectRoute(rtProhibit, "2001:db8:68::/48"),
}

// seqNeighbours have permanent neighbour entries: forwarding in XDP
// (a full fib lookup) succeeds only towards them.
var seqNeighbours = map[string][]string{
	"org0":  {"198.18.1.10", "2001:db8:1::10", "198.18.6.10"},
	"org1":  {"198.18.3.10", "2001:db8:3::10", "198.18.4.10"},
	"vl100": {"198.18.2.10"},
	"org2":  {"198.18.7.10", "2001:db8:7::10"},
	"svc0":  {"198.19.10.5", "2001:db8:10::5", "198.19.10.254", "2001:db8:10::fe", "198.19.20.53"},
	"svc1":  {"198.19.30.5", "2001:db8:30::5"},
}

// Results of bpf_fib_lookup (enum in linux/bpf.h).
const (
	fibSuccess     = 0
	fibBlackhole   = 1
	fibUnreachable = 2
	fibProhibit    = 3
	fibNotFwded    = 4
	fibFwdDisabled = 5
	fibNoNeigh     = 7
	fibFragNeeded  = 8
)

// seqWorld is what the model knows of the gateway: interface indexes,
// the routing table and what else the program reads about the host.
type seqWorld struct {
	ifindex  map[string]uint32
	ifname   map[uint32]string
	local    map[netip.Addr]bool // local, broadcast and anycast routes
	routes   []seqRoute          // connected and seqRoutes
	neigh    map[string]map[netip.Addr]bool
	noFwd    map[uint32]bool
	vlanDevs map[uint32]seqVLANDev // by the VLAN device's ifindex; parent as a name
	txPorts  map[uint32]bool
}

func newSeqWorld(ifindex map[string]uint32, vlanDevs bool) *seqWorld {
	w := &seqWorld{ifindex: ifindex, ifname: map[uint32]string{}, local: map[netip.Addr]bool{},
		neigh: map[string]map[netip.Addr]bool{}, noFwd: map[uint32]bool{},
		vlanDevs: map[uint32]seqVLANDev{}, txPorts: map[uint32]bool{}}
	for n, i := range ifindex {
		w.ifname[i] = n
	}
	for n := range seqNoFwd {
		w.noFwd[ifindex[n]] = true
	}
	for _, n := range seqIfaces {
		w.txPorts[ifindex[n]] = true
	}
	if vlanDevs {
		for n, d := range seqVLANDevs {
			w.vlanDevs[ifindex[n]] = d
		}
	}
	for _, a := range seqAddrs {
		w.addAddr(a.dev, netip.MustParsePrefix(a.cidr))
	}
	w.routes = append(w.routes, seqRoutes...)
	for dev, addrs := range seqNeighbours {
		w.neigh[dev] = map[netip.Addr]bool{}
		for _, a := range addrs {
			w.neigh[dev][netip.MustParseAddr(a)] = true
		}
	}
	return w
}

func (w *seqWorld) addAddr(dev string, p netip.Prefix) {
	w.local[p.Addr()] = true
	w.routes = append(w.routes, seqRoute{prefix: p.Masked(), dev: dev})
	if p.Addr().Is4() {
		w.local[lastAddr(p)] = true // broadcast
	} else if !seqNoFwd[dev] {
		w.local[p.Masked().Addr()] = true // subnet-router anycast
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// lookup is the longest route containing a, if any.
func (w *seqWorld) lookup(a netip.Addr) (seqRoute, bool) {
	var best seqRoute
	found := false
	for _, r := range w.routes {
		if r.prefix.Addr().Is4() == a.Is4() && r.prefix.Contains(a) && (!found || r.prefix.Bits() > best.prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// strict6 are the IPv6 destinations (and sources) bpf_ipv6_fib_lookup
// never forwards: multicast, link-local, loopback (rt6_need_strict).
func strict6(a netip.Addr) bool {
	return a.Is6() && (a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsLoopback())
}

// fib answers bpf_fib_lookup as the program calls it: an input lookup on
// ingress for dst. skipNeigh is BPF_FIB_LOOKUP_SKIP_NEIGH (the
// reverse-path and link-control lookups); without it (forwarding) the
// neighbour must be known and totLen fit the MTU. src matters for IPv6.
func (w *seqWorld) fib(dst, src netip.Addr, ingress uint32, skipNeigh bool, totLen uint32) (int, uint32) {
	if dst.Is6() && (strict6(dst) || strict6(src)) {
		return fibNotFwded, 0
	}
	if w.noFwd[ingress] {
		return fibFwdDisabled, 0
	}
	if w.local[dst] {
		return fibNotFwded, 0
	}
	r, ok := w.lookup(dst)
	switch {
	case !ok:
		return fibNotFwded, 0
	case r.kind == rtBlackhole:
		return fibBlackhole, 0
	case r.kind == rtUnreachable:
		return fibUnreachable, 0
	case r.kind == rtProhibit:
		return fibProhibit, 0
	}
	dev := w.ifindex[r.dev]
	if skipNeigh {
		return fibSuccess, dev
	}
	if totLen > 1500 {
		return fibFragNeeded, dev
	}
	hop := dst
	if r.via.IsValid() {
		hop = r.via
	}
	if !w.neigh[r.dev][hop] {
		return fibNoNeigh, dev
	}
	return fibSuccess, dev
}

// routeDev is pal_route_dev: the interface the kernel would forward a to,
// -1 when forwarding is off on the ingress, 0 when it would not forward.
func (w *seqWorld) routeDev(a netip.Addr, ingress uint32) int {
	code, dev := w.fib(a, netip.Addr{}, ingress, true, 0)
	switch code {
	case fibSuccess, fibNoNeigh, fibFragNeeded:
		return int(dev)
	case fibFwdDisabled:
		return -1
	}
	return 0
}

// fibmatchWant is what `ip route get fibmatch a` should print first (the
// route type, or the device of a unicast route), for checking this table
// against the kernel's.
func (w *seqWorld) fibmatchWant(a netip.Addr) string {
	if strict6(a) {
		return "never forwarded (link-local, multicast or loopback)"
	}
	if w.local[a] {
		return "local"
	}
	r, ok := w.lookup(a)
	switch {
	case !ok:
		return "unreachable-network"
	case r.kind != rtUnicast:
		return r.kind
	}
	return "dev " + r.dev
}

// fibmatchGot reduces `ip route get fibmatch` output the same way.
func fibmatchGot(out string, err error) string {
	if err != nil { // a reject route answers with its error
		switch {
		case strings.Contains(out, "Network is unreachable"):
			return "unreachable-network"
		case strings.Contains(out, "Invalid argument"):
			return rtBlackhole
		case strings.Contains(out, "No route to host"):
			return rtUnreachable
		case strings.Contains(out, "Permission denied"):
			return rtProhibit
		}
		return "error: " + out
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return "empty"
	}
	switch f[0] {
	case "local", "broadcast", "anycast":
		return "local"
	case rtBlackhole, rtUnreachable, rtProhibit:
		return f[0]
	}
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" {
			return "dev " + f[i+1]
		}
	}
	return "unparsed: " + out
}
