package datapath

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// Capacities of the compiled object, read off its map specs so they are
// written down once, in bpf/abi.h.
type capacities struct {
	orgs, rulesets, portRanges, ruleSlots, lens uint32
	ingresses, sources, dests                   uint32
}

func specCapacities(m *BoundaryMaps) capacities {
	return capacities{
		orgs:       m.Orgs.MaxEntries() / 2,
		rulesets:   m.Rulesets.MaxEntries() / 2,
		portRanges: m.PortRanges.MaxEntries() / 2,
		ruleSlots:  m.RuleStats.MaxEntries(),
		lens:       uint32(len(BoundaryPalRuleset{}.Lens4)),
		ingresses:  m.Ingresses.MaxEntries() / 2,
		sources:    m.Sources.MaxEntries() / 2,
		dests:      m.Dests.MaxEntries() / 2,
	}
}

// addrWords lays an address out as the datapath reads it from a packet:
// network-order bytes in native-order words.
func addrWords(a netip.Addr) [4]uint32 {
	var w [4]uint32
	b := a.As16()
	if a.Is4() {
		v4 := a.As4()
		w[0] = binary.NativeEndian.Uint32(v4[:])
		return w
	}
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

// tables is a compiled policy laid out as map entries of one generation.
type tables struct {
	ingKeys  []BoundaryPalIngressKey
	ingVals  []BoundaryPalIngress
	srcKeys  []BoundaryPalSrcKey
	srcVals  []uint32
	orgIdx   []uint32
	orgVals  []BoundaryPalOrg
	rsIdx    []uint32
	rsVals   []BoundaryPalRuleset
	dstKeys  []BoundaryPalDstKey
	dstVals  []BoundaryPalDst
	portIdx  []uint32
	portVals []BoundaryPalPortRange
	portRule []int           // rule index of each port range, for setSlots
	skipped  []string        // ingresses whose interface is not on this host
	orgIfs   map[uint32]bool // ifindexes organisations come in on
}

func fillLens(dst []uint8, prefixes []netip.Prefix, fam int, max uint32, what string) (uint8, error) {
	lens := policy.Lens(prefixes, fam)
	if uint32(len(lens)) > max {
		return 0, fmt.Errorf("%s uses %d distinct IPv%d prefix lengths; the datapath supports %d", what, len(lens), fam, max)
	}
	copy(dst, lens)
	return uint8(len(lens)), nil
}

func ifindexOf(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
