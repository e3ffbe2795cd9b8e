package lab

import (
	"encoding/binary"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// The VLAN tagger is a tc program, assembled here rather than compiled
// from C so the lab needs no clang. It decides a frame's VLAN from its
// addresses, looked up in an LPM trie of the link's VLAN prefixes:
// IPv4/IPv6 destination, then source, then the ND target (ICMPv6 135/136);
// for ARP the target, then the sender protocol address. No match: untagged.
//
//   - egress: push the tag (skb->mark can override, see markVLAN);
//   - ingress, lenient (gateway): pop whatever tag came, as a VLAN
//     subinterface would, so the stack sees the frame on the parent;
//   - ingress, strict (hosts): pop, then drop the frame unless its tag is
//     the one its addresses call for. A gateway that forgets to tag a
//     redirected reply is caught here instead of passing unnoticed.

// Offsets into struct __sk_buff (uapi/linux/bpf.h).
const (
	skbMark        = 8
	skbProtocol    = 16
	skbVLANPresent = 20
	skbVLANTCI     = 24
)

const (
	tcActOK   = 0
	tcActShot = 2
	// keyOff is the LPM key on the stack: u32 prefixlen, u8 addr[16].
	keyOff = -24
	// markVLAN in the upper half of skb->mark makes egress use the VLAN
	// in the low 12 bits (0: untagged) whatever the addresses say, so a
	// test can send a frame on the "wrong" VLAN.
	markVLAN = 0x7a6b0000
)

type tagMode int

const (
	tagEgress tagMode = iota
	popLenient
	popStrict
)

func vlanProgram(m *ebpf.Map, mode tagMode) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1), // R6: ctx, kept across helper calls
		asm.Mov.Imm(asm.R7, 0),      // R7: VLAN the frame arrived with
	}
	if mode != tagEgress {
		insns = append(insns, popTag()...)
	}
	if mode == popLenient {
		return append(insns, asm.Return())
	}
	insns = append(insns, classify(m.FD())...) // R8: VLAN the addresses call for
	if mode == tagEgress {
		return append(insns, pushTag()...)
	}
	return append(insns,
		asm.JEq.Reg(asm.R7, asm.R8, "pass"),
		asm.Mov.Imm(asm.R0, tcActShot),
		asm.Return(),
		asm.Mov.Imm(asm.R0, tcActOK).WithSymbol("pass"),
		asm.Return(),
	)
}

// popTag leaves the received VLAN id in R7 and removes the tag.
func popTag() asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R7, asm.R6, skbVLANPresent, asm.Word),
		asm.JEq.Imm(asm.R7, 0, "popped"),
		asm.LoadMem(asm.R7, asm.R6, skbVLANTCI, asm.Word),
		asm.And.Imm(asm.R7, 0xfff),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnSkbVlanPop.Call(),
		asm.Mov.Imm(asm.R0, tcActOK).WithSymbol("popped"),
	}
}

// pushTag tags the frame with R8 (or the marked VLAN) unless it is 0.
func pushTag() asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R6, skbMark, asm.Word),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.RSh.Imm(asm.R3, 16),
		asm.JEq.Imm(asm.R3, markVLAN>>16, "push"), // marked: R2 holds the VLAN
		asm.Mov.Reg(asm.R2, asm.R8),
		asm.And.Imm(asm.R2, 0xfff).WithSymbol("push"),
		asm.JEq.Imm(asm.R2, 0, "pass"),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.Mov.Imm(asm.R2, int32(be16(0x8100))),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnSkbVlanPush.Call(),
		asm.Mov.Imm(asm.R0, tcActOK).WithSymbol("pass"),
		asm.Return(),
	}
}

// classify sets R8 to the VLAN of the first address found in the trie.
func classify(mapFD int) asm.Instructions {
	insns := asm.Instructions{
		asm.Mov.Imm(asm.R8, 0),
		asm.LoadMem(asm.R2, asm.R6, skbProtocol, asm.Word),
		asm.JEq.Imm(asm.R2, int32(be16(0x0800)), "ip4"),
		asm.JEq.Imm(asm.R2, int32(be16(0x86dd)), "ip6"),
		asm.JEq.Imm(asm.R2, int32(be16(0x0806)), "arp"),
		asm.Ja.Label("classified"),
	}
	// Offsets from the Ethernet header: IPv4 dst 30, src 26; IPv6 dst 38,
	// src 22, next header 20, ICMPv6 type 54, ND target 62; ARP tpa 38, spa 28.
	insns = append(insns, lookup(mapFD, "ip4", 30, 4)...)
	insns = append(insns, lookup(mapFD, "ip4src", 26, 4)...)
	insns = append(insns, asm.Ja.Label("classified"))
	insns = append(insns, lookup(mapFD, "ip6", 38, 16)...)
	insns = append(insns, lookup(mapFD, "ip6src", 22, 16)...)
	insns = append(insns,
		asm.LoadAbs(20, asm.Byte), // R0; LD_ABS ends the program on a short frame
		asm.JNE.Imm(asm.R0, 58, "classified"),
		asm.LoadAbs(54, asm.Byte),
		asm.JLT.Imm(asm.R0, 135, "classified"),
		asm.JGT.Imm(asm.R0, 136, "classified"),
	)
	insns = append(insns, lookup(mapFD, "nd", 62, 16)...)
	insns = append(insns, asm.Ja.Label("classified"))
	insns = append(insns, lookup(mapFD, "arp", 38, 4)...)
	insns = append(insns, lookup(mapFD, "arpspa", 28, 4)...)
	return append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("classified"))
}

// lookup loads the address at off (4 or 16 bytes) into the stack key, IPv4
// as v4-mapped IPv6, and on a trie hit puts its VLAN in R8 and jumps to
// "classified". The first instruction carries the symbol name.
func lookup(mapFD int, name string, off, size int32) asm.Instructions {
	next := name + "_miss"
	var insns asm.Instructions
	if size == 4 {
		insns = asm.Instructions{
			asm.StoreImm(asm.RFP, keyOff+4, 0, asm.Word),
			asm.StoreImm(asm.RFP, keyOff+8, 0, asm.Word),
			asm.StoreImm(asm.RFP, keyOff+12, int64(int32(binary.NativeEndian.Uint32([]byte{0, 0, 0xff, 0xff}))), asm.Word),
		}
	}
	insns = append(insns,
		asm.StoreImm(asm.RFP, keyOff, 128, asm.Word),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Imm(asm.R2, off),
		asm.Mov.Reg(asm.R3, asm.RFP),
		asm.Add.Imm(asm.R3, keyOff+4+16-size),
		asm.Mov.Imm(asm.R4, size),
		asm.FnSkbLoadBytes.Call(),
		asm.JNE.Imm(asm.R0, 0, next),
		asm.LoadMapPtr(asm.R1, mapFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, keyOff),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, next),
		asm.LoadMem(asm.R8, asm.R0, 0, asm.Word),
		asm.Ja.Label("classified"),
		asm.Mov.Imm(asm.R0, 0).WithSymbol(next),
	)
	insns[0] = insns[0].WithSymbol(name)
	return insns
}

// be16 is v in network byte order, as the kernel stores skb->protocol.
func be16(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
