package datapath

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// VLANDev is a VLAN device of the host and what its frames look like where
// the boundary sees them: on Parent (an interface without a VLAN of its
// own), carrying VLAN and, for a VLAN on a VLAN, InnerVLAN.
type VLANDev struct {
	Ifindex, Parent int
	VLAN, InnerVLAN uint16
}

// vlanConfig is where the kernel's 8021q module lists its devices, one per
// line after two header lines: "name | VID | parent".
const vlanConfig = "/proc/net/vlan/config"

// HostVLANs lists the host's VLAN devices. A kernel without 8021q has none.
func HostVLANs() ([]VLANDev, error) {
	f, err := os.Open(vlanConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines, err := parseVLANConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vlanConfig, err)
	}
	return resolveVLANs(lines, ifindexOf), nil
}

type vlanLine struct {
	name, parent string
	vid          uint16
}

func parseVLANConfig(r io.Reader) ([]vlanLine, error) {
	var out []vlanLine
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if n <= 2 { // "VLAN Dev name | VLAN ID", "Name-Type: ..."
			continue
		}
		f := strings.Split(sc.Text(), "|")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %q is not name | VID | parent", n, sc.Text())
		}
		vid, err := strconv.ParseUint(strings.TrimSpace(f[1]), 10, 12)
		if err != nil {
			return nil, fmt.Errorf("line %d: VLAN id: %w", n, err)
		}
		out = append(out, vlanLine{name: strings.TrimSpace(f[0]), vid: uint16(vid), parent: strings.TrimSpace(f[2])})
	}
	return out, sc.Err()
}

// resolveVLANs follows each device down to an interface that is not a VLAN
// device. One level is 802.1Q; two (a VLAN on a VLAN) is QinQ, outer tag
// first. Deeper stacks, and devices that vanished, are left out: the
// datapath parses two tags, and a route through a device it does not know
// never counts as leading back to an ingress.
func resolveVLANs(lines []vlanLine, ifindex func(string) (int, error)) []VLANDev {
	byName := map[string]vlanLine{}
	for _, l := range lines {
		byName[l.name] = l
	}
	var out []VLANDev
	for _, l := range lines {
		d := VLANDev{VLAN: l.vid}
		parent := l.parent
		if outer, ok := byName[parent]; ok {
			if _, deeper := byName[outer.parent]; deeper {
				continue
			}
			d.VLAN, d.InnerVLAN, parent = outer.vid, l.vid, outer.parent
		}
		var err1, err2 error
		d.Ifindex, err1 = ifindex(l.name)
		d.Parent, err2 = ifindex(parent)
		if err1 == nil && err2 == nil {
			out = append(out, d)
		}
	}
	return out
}

// SetVLANDevices makes devs the datapath's whole list of VLAN devices, so
// that the reverse-path check knows a route through one leads back to its
// parent with its tags.
func (dp *Datapath) SetVLANDevices(devs []VLANDev) error {
	want := map[uint32]BoundaryPalVlanDev{}
	for _, d := range devs {
		want[uint32(d.Ifindex)] = BoundaryPalVlanDev{Parent: uint32(d.Parent), Vlan: d.VLAN, InnerVlan: d.InnerVLAN}
	}
	m := dp.objs.VlanDevs
	var stale []uint32
	var k uint32
	var v BoundaryPalVlanDev
	it := m.Iterate()
	for it.Next(&k, &v) {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read vlan devices: %w", err)
	}
	for _, k := range stale {
		if err := m.Delete(k); err != nil {
			return fmt.Errorf("forget vlan device %d: %w", k, err)
		}
	}
	for k, v := range want {
		if err := m.Put(k, v); err != nil {
			return fmt.Errorf("record vlan device %d: %w", k, err)
		}
	}
	return nil
}
