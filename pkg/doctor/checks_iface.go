package doctor

import (
	"errors"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// boundaryProgram is the name the kernel knows Palisade's XDP program by.
const boundaryProgram = "xdp_boundary"

// checkInterface checks one interface: it exists, its driver, whether XDP
// can run natively and is free, and whether VLAN tags reach XDP.
func checkInterface(h Host, t *target, ifname string) []Result {
	l, err := h.Link(ifname)
	if errors.Is(err, os.ErrNotExist) {
		return []Result{fail("interface", "does not exist on this host").on(ifname)}
	}
	if err != nil {
		return []Result{fail("interface", "%v", err).on(ifname)}
	}
	exists := ok("interface", "ifindex %d, up", l.Ifindex)
	if !l.Up {
		exists = warn("interface", "ifindex %d, DOWN: XDP attaches, but nothing flows until it is up", l.Ifindex)
	}
	driver, err := h.Driver(ifname)
	drv := ok("driver", "%s", driver)
	if err != nil {
		driver, drv = "", warn("driver", "unknown: %v", err)
	}
	return []Result{exists.on(ifname), drv.on(ifname), checkXDP(h, t, ifname, l).on(ifname), checkVLANOffload(h, t, ifname, driver).on(ifname)}
}

// checkXDP: a program already attached is either Palisade's (fine) or a
// conflict; with none, a pass-all program is attached in driver mode and
// removed again to learn whether the driver runs XDP natively.
func checkXDP(h Host, t *target, ifname string, l Link) Result {
	if p := l.XDP; p != nil {
		if p.Name != boundaryProgram {
			return fail("xdp", "CONFLICT: program %q (id %d, %s) is attached; palisaded will not share the interface: remove it or its owner first", p.Name, p.ID, p.Mode)
		}
		pinned, _ := h.PinnedLinks(t.pinPath)
		if !slices.Contains(pinned, ifname) {
			return warn("xdp", "a Palisade program (id %d, %s) is attached but not pinned under %s: another pin path or a crashed test?", p.ID, p.Mode, t.pinPath)
		}
		if p.Mode != string(t.mode) {
			return warn("xdp", "Palisade attached in %s mode, the config asks for %s: `palisade detach %s` and restart palisaded to change", p.Mode, t.mode, ifname)
		}
		return ok("xdp", "Palisade attached (%s, program id %d)", p.Mode, p.ID)
	}
	return probeXDP(h, t, ifname)
}

func probeXDP(h Host, t *target, ifname string) Result {
	if !t.probe {
		return warn("xdp", "nothing attached; native XDP support not probed (--no-xdp-probe)")
	}
	if !h.Privileged() {
		return warn("xdp", "native XDP support not probed (needs root)")
	}
	err := h.ProbeNativeXDP(ifname)
	generic := t.mode == datapath.Generic
	switch {
	case err == nil && generic:
		return warn("xdp", "native XDP works here, but the config asks for generic (much slower): set xdp_mode: native")
	case err == nil:
		return ok("xdp", "native XDP supported (probed); nothing else attached")
	case errors.Is(err, ebpf.ErrNotSupported) && generic:
		return warn("xdp", "no native XDP in this driver (%v): generic mode, as configured, is correct but far below line rate", err)
	case errors.Is(err, ebpf.ErrNotSupported):
		return fail("xdp", "no native XDP in this driver (%v), and xdp_mode is native: palisaded will not attach; use a NIC with XDP support or set xdp_mode: generic (slow)", err)
	}
	return warn("xdp", "native XDP probe failed: %v", err)
}

// checkVLANOffload: with receive VLAN offload on, many drivers strip the
// 802.1Q tag into the descriptor before XDP runs, so XDP cannot tell the
// VLANs apart. It matters where the rules name a VLAN on the interface.
func checkVLANOffload(h Host, t *target, ifname, driver string) Result {
	usesVLAN := t.vlanIfaces[ifname]
	if driver == "veth" {
		// A veth has no hardware: XDP sees the tag if the peer sent it in
		// the frame, which its own txvlan offload decides.
		if usesVLAN {
			return warn("rx vlan", "veth: XDP sees the VLAN tags only if the peer sends them in-frame (ethtool -K <peer> txvlan off)")
		}
		return ok("rx vlan", "veth: nothing is stripped on receive")
	}
	feats, err := h.Offloads(ifname)
	if err != nil {
		return warn("rx vlan", "cannot read offloads (is ethtool installed?): %v", err)
	}
	state, known := feats["rx-vlan-offload"]
	switch {
	case !known || strings.HasPrefix(state, "off"):
		return ok("rx vlan", "offload off: XDP sees VLAN tags")
	case usesVLAN && strings.Contains(state, "fixed"):
		return fail("rx vlan", "offload is on and fixed: the driver strips the tags the rules match on before XDP runs; use another NIC for VLAN ingresses")
	case usesVLAN:
		return fail("rx vlan", "offload on: tags the rules match on are stripped before XDP runs; ethtool -K %s rxvlan off (and make it persistent)", ifname)
	}
	return warn("rx vlan", "offload on: harmless while no rule names a VLAN here; turn it off before adding one (ethtool -K %s rxvlan off)", ifname)
}
