package lab

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// tagVLANs emulates 802.1Q subinterfaces on the link gwIf <-> hostIf,
// because the lab's kernel may lack VLAN support (CONFIG_VLAN_8021Q).
// All of a link's addresses sit on the veth ends themselves; tc programs
// (see vlanprog.go) tag frames on the wire by the VLAN their addresses
// belong to, so XDP on the gateway sees real 802.1Q headers.
func (g *Gateway) tagVLANs(h *NS, gwIf, hostIf string, vlans []VLANSpec) error {
	m, err := vlanMap(vlans)
	if err != nil {
		return err
	}
	defer m.Close() // the attached programs keep it alive
	for _, at := range []struct {
		ns     *NS
		ifname string
		egress bool
		mode   tagMode
	}{
		{g.GW, gwIf, true, tagEgress}, {g.GW, gwIf, false, popLenient},
		{h, hostIf, true, tagEgress}, {h, hostIf, false, popStrict},
	} {
		if err := attachVLANProgram(at.ns, at.ifname, at.egress, m, at.mode); err != nil {
			return err
		}
	}
	return nil
}

func attachVLANProgram(n *NS, ifname string, egress bool, m *ebpf.Map, mode tagMode) error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "lab_vlan",
		Type:         ebpf.SchedCLS,
		Instructions: vlanProgram(m, mode),
		License:      "Dual MIT/GPL",
	})
	if err != nil {
		return fmt.Errorf("load vlan tagger: %+v", err)
	}
	defer prog.Close() // the tc filter holds its own reference
	return n.attachTC(ifname, egress, prog)
}

// vlanMap maps every network of the VLANs (both ends) to its VLAN id, as
// an LPM trie keyed by {prefixlen, IPv6 or v4-mapped address}.
func vlanMap(vlans []VLANSpec) (*ebpf.Map, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name: "lab_vlans", Type: ebpf.LPMTrie, KeySize: 20, ValueSize: 4,
		MaxEntries: 256, Flags: unix.BPF_F_NO_PREALLOC,
	})
	if err != nil {
		return nil, fmt.Errorf("vlan map: %w", err)
	}
	for _, v := range vlans {
		if v.ID < 1 || v.ID > 4094 {
			m.Close()
			return nil, fmt.Errorf("vlan %q: id %d out of 1..4094", v.Name, v.ID)
		}
		for _, cidr := range append(append([]string{}, v.Addrs...), v.GWAddrs...) {
			p, err := netip.ParsePrefix(cidr)
			if err == nil {
				err = m.Put(lpmKey(p.Masked()), uint32(v.ID))
			}
			if err != nil {
				m.Close()
				return nil, fmt.Errorf("vlan %q prefix %q: %w", v.Name, cidr, err)
			}
		}
	}
	return m, nil
}

func lpmKey(p netip.Prefix) []byte {
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	a := p.Addr().As16() // IPv4 comes out v4-mapped
	return append(binary.NativeEndian.AppendUint32(nil, uint32(bits)), a[:]...)
}
