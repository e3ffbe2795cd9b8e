package datapath

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// TestCrowdedBlocks fills one block of an organisation's destinations
// with as many prefixes as a block lists (blockListMax) and one of
// another's with one more (probed length by length instead), in IPv4 and
// IPv6, each with hosts inside a shorter prefix of the block and a
// covering prefix outside it. The listed block's shortest prefix comes
// last in its list: if the program read fewer entries than Go lists, an
// address only it holds would fall to the covering prefix, whose ports
// differ, and the verdicts would disagree with Decide.
func TestCrowdedBlocks(t *testing.T) {
	h := newHarness(t)
	type crowd struct {
		org           string
		src           netip.Prefix
		cover, middle netip.Prefix
		hosts         []netip.Addr
	}
	var crowds []crowd
	p := &rules.Policy{Dir: "crowded", Services: map[string]*rules.Service{}}
	for i, n := range []int{blockListMax, blockListMax + 1} {
		for _, fam := range []int{4, 6} {
			c := crowd{org: fmt.Sprintf("crowd%d-v%d", n, fam)}
			c.src = netip.MustParsePrefix(fmt.Sprintf("198.18.%d.0/24", 2*i+fam))
			c.cover = netip.MustParsePrefix(fmt.Sprintf("198.%d.0.0/16", 19+i))
			c.middle = netip.MustParsePrefix(fmt.Sprintf("198.%d.%d.128/25", 19+i, fam))
			if fam == 6 {
				c.src = netip.MustParsePrefix(fmt.Sprintf("2001:db8:0:%d::/64", 2*i+fam))
				c.cover = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d::/48", 10+i))
				c.middle = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d:6:8000::/65", 10+i))
			}
			o := &rules.Organisation{ID: c.org, Name: c.org, Ingress: []rules.Ingress{{Interface: "org0"}},
				Prefixes: []netip.Prefix{c.src}}
			hosts := []netip.Prefix{}
			for a, k := c.middle.Addr(), 0; k < n-1; k++ {
				a = a.Next().Next()
				c.hosts = append(c.hosts, a)
				hosts = append(hosts, netip.PrefixFrom(a, a.BitLen()))
			}
			o.Allow = []rules.Rule{
				{ID: "cover", To: []netip.Prefix{c.cover}, Ports: []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 22, Hi: 22}}},
				{ID: "middle", To: []netip.Prefix{c.middle}, Ports: []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 443, Hi: 443}}},
				{ID: "hosts", To: hosts, Ports: []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 8443, Hi: 8443}}},
			}
			p.Orgs = append(p.Orgs, o)
			crowds = append(crowds, c)
		}
	}
	h.policy = policy.Compile(p)
	h.routeSources(h.policy)
	if err := h.ns.Do(func() error { _, err := h.dp.Publish(h.policy, testIfaces); return err }); err != nil {
		t.Fatalf("publish: %v", err)
	}
	checkLists(t, h.dp, map[int]int{blockListMax: 2, 0: 2})

	var queries []policy.Query
	for _, c := range crowds {
		src := c.src.Addr().Next()
		dsts := append([]netip.Addr{c.middle.Addr().Next(), lastIn(c.middle), c.cover.Addr().Next()}, c.hosts...)
		for _, d := range dsts {
			for _, port := range []uint16{22, 443, 8443, 9999} {
				queries = append(queries, policy.Query{Interface: "org0", Src: src, Dst: d, Port: port, Proto: policy.ProtoTCP})
			}
		}
	}
	next := 0
	compare(t, h, rand.New(rand.NewPCG(1, 1)), 20000, len(queries), func() policy.Query {
		next++
		return queries[next-1]
	})
}

// checkLists says how many destination blocks list how many prefixes.
func checkLists(t *testing.T, dp *Datapath, want map[int]int) {
	t.Helper()
	got := map[int]int{}
	err := walk(dp.objs.Blocks, func(_ *uint32, s *BoundaryPalBlockSlot) bool {
		if s.Key.Family != 0 && s.Key.Kind == uint8(BoundaryPalBlockKindPAL_BLOCK_DESTS) && s.Block.OnlyPlen == 0 {
			got[int(s.Block.ListCnt)]++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("crowded destination blocks by prefixes listed: %v, want %v", got, want)
	}
}

// lastIn is the last address of p.
func lastIn(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestListsStopAtTheirCapacity: a crowded block that no longer fits in
// block_prefixes lists nothing (the datapath probes it), and what is
// listed is the generation's own slice, longest prefix first.
func TestListsStopAtTheirCapacity(t *testing.T) {
	var prefixes []netip.Prefix
	for _, block := range []string{"198.19.1", "198.19.2"} {
		prefixes = append(prefixes, netip.MustParsePrefix(block+".0/25"))
		for k := 1; k < 12; k++ {
			prefixes = append(prefixes, netip.MustParsePrefix(fmt.Sprintf("%s.%d/32", block, k)))
		}
	}
	lens := policy.Lens(prefixes, 4)
	tb := &tables{listCap: 20}
	owner := BoundaryPalBlockKey{Owner: 3, Gen: 1, Kind: uint8(BoundaryPalBlockKindPAL_BLOCK_DESTS)}
	tb.addBlocks(prefixes, 4, block4, lens, owner, func(i int) (uint32, BoundaryPalDst) {
		return 0, BoundaryPalDst{Lists: [3]BoundaryPalPortList{{Off: uint32(i)}}}
	})
	if len(tb.blkVals) != 2 || tb.blkVals[0].ListCnt != 12 || tb.blkVals[1].ListCnt != 0 || tb.blkVals[1].OnlyPlen != 0 {
		t.Fatalf("blocks %+v: want the first listing 12 prefixes, the second none", tb.blkVals)
	}
	if len(tb.listVals) != 12 || tb.listIdx[0] != 1*20 || tb.listIdx[11] != 1*20+11 {
		t.Fatalf("listed %d at %v, want 12 from generation 1's slice (20)", len(tb.listVals), tb.listIdx)
	}
	for i, e := range tb.listVals {
		if want := uint8(32); i == 11 {
			if e.Plen != 25 || e.Dst.Lists[0].Off != 0 {
				t.Errorf("last listed: /%d answer %d, want the /25 and its own answer", e.Plen, e.Dst.Lists[0].Off)
			}
		} else if e.Plen != want || e.Dst.Lists[0].Off != uint32(i+1) {
			t.Errorf("listed %d: /%d answer %d, want /32 with answer %d", i, e.Plen, e.Dst.Lists[0].Off, i+1)
		}
	}
}
