package inspect

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// blackholeFamilies are the address families of the blackhole ip rules,
// with the `ip` flag that selects each.
var blackholeFamilies = []struct {
	af   uint8
	flag string
	name string
}{{unix.AF_INET, "-4", "ipv4"}, {unix.AF_INET6, "-6", "ipv6"}}

// blackholeArgs is the ip rule that drops what still carries markInspect
// at routing (see netfilter.go).
func blackholeArgs(verb, flag string) []string {
	return []string{flag, "rule", verb, "pref", fmt.Sprint(BlackholePref), "fwmark", fmt.Sprintf("%#x/0xffffffff", markInspect), "blackhole"}
}

// ensureBlackholes adds the blackhole rule of each family unless it is there.
func ensureBlackholes() error {
	for _, f := range blackholeFamilies {
		ok, err := blackholePresent(f.af)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := run(context.Background(), "ip", blackholeArgs("add", f.flag)...); err != nil {
			return fmt.Errorf("blackhole rule for inspected packets (%s): %w", f.name, err)
		}
	}
	return nil
}

func removeBlackholes() error {
	var errs []error
	for _, f := range blackholeFamilies {
		for range 4 { // bounded: a rule added more than once goes too
			ok, err := blackholePresent(f.af)
			if err != nil {
				errs = append(errs, err)
			}
			if !ok {
				break
			}
			if err := run(context.Background(), "ip", blackholeArgs("del", f.flag)...); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// blackholePresent reads the policy routing rules of family af (one
// RTM_GETRULE dump, no process started) and says whether ours is there.
func blackholePresent(af uint8) (bool, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return false, fmt.Errorf("read ip rules: %w", err)
	}
	defer c.Close()
	// struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags(4).
	hdr := make([]byte, 12)
	hdr[0] = af
	msgs, err := c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETRULE, Flags: netlink.Request | netlink.Dump}, Data: hdr})
	if err != nil {
		return false, fmt.Errorf("read ip rules: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) >= 12 && m.Data[0] == af && m.Data[7] == unix.FR_ACT_BLACKHOLE && isBlackhole(m.Data[12:]) {
			return true, nil
		}
	}
	return false, nil
}

// isBlackhole says whether a rule's attributes are ours: our priority,
// matching exactly markInspect.
func isBlackhole(attrs []byte) bool {
	ad, err := netlink.NewAttributeDecoder(attrs)
	if err != nil {
		return false
	}
	var prio, mark uint32
	mask := ^uint32(0)
	for ad.Next() {
		switch ad.Type() {
		case unix.FRA_PRIORITY:
			prio = ad.Uint32()
		case unix.FRA_FWMARK:
			mark = ad.Uint32()
		case unix.FRA_FWMASK:
			mask = ad.Uint32()
		}
	}
	return ad.Err() == nil && prio == BlackholePref && mark == markInspect && mask == ^uint32(0)
}

// nftGeneration is nf_tables' ruleset generation in this network
// namespace: it changes with every committed change to any table, so an
// unchanged one means the chain checked last time is still as it was.
func nftGeneration(c *netlink.Conn) (uint32, error) {
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	}
	msgs, err := c.Execute(req)
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return 0, err
		}
		ad.ByteOrder = binary.BigEndian
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				return ad.Uint32(), nil
			}
		}
	}
	return 0, errors.New("nf_tables: no generation in the answer")
}
