package doctor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoRoute is what RouteDev wraps when the routing table has no usable
// route: none at all, or an unreachable, prohibit or blackhole one.
var ErrNoRoute = errors.New("no route")

// RouteDev is the interface a route leads through.
type RouteDev struct {
	Ifindex int
	Name    string
}

// routeDev asks the kernel, as `ip route get ADDR` does, through which
// interface it would send a packet to addr. An address of the gateway's
// own (a prefix's first address is often the IPv6 subnet-router anycast
// address, or an IPv4 broadcast) resolves to lo; then the device of the
// route that matched (`ip route get fibmatch`) is the answer.
func routeDev(addr netip.Addr) (RouteDev, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return RouteDev{}, fmt.Errorf("dial rtnetlink: %w", err)
	}
	defer c.Close()
	addr = addr.Unmap()
	typ, oif, err := getRoute(c, addr, 0)
	if err == nil && (typ == unix.RTN_LOCAL || typ == unix.RTN_ANYCAST || typ == unix.RTN_BROADCAST) {
		typ, oif, err = getRoute(c, addr, unix.RTM_F_FIB_MATCH)
	}
	switch {
	case errors.Is(err, unix.ENETUNREACH), errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.EACCES), errors.Is(err, unix.EINVAL):
		return RouteDev{}, fmt.Errorf("%w (%v)", ErrNoRoute, err)
	case err != nil:
		return RouteDev{}, fmt.Errorf("route get %s: %w", addr, err)
	case typ == unix.RTN_UNREACHABLE, typ == unix.RTN_PROHIBIT, typ == unix.RTN_BLACKHOLE, typ == unix.RTN_THROW:
		return RouteDev{}, fmt.Errorf("%w (route type %d)", ErrNoRoute, typ)
	case oif == 0:
		return RouteDev{}, fmt.Errorf("%w (no output interface)", ErrNoRoute)
	}
	r := RouteDev{Ifindex: oif, Name: fmt.Sprintf("ifindex %d", oif)}
	if ifi, err := net.InterfaceByIndex(oif); err == nil {
		r.Name = ifi.Name
	}
	return r, nil
}

// getRoute sends one RTM_GETROUTE and returns the answer's route type and
// output interface (RTA_OIF).
func getRoute(c *netlink.Conn, addr netip.Addr, flags uint32) (typ uint8, oif int, err error) {
	rtm := make([]byte, unix.SizeofRtMsg)
	rtm[0], rtm[1] = unix.AF_INET, 32 // rtm_family, rtm_dst_len
	if addr.Is6() {
		rtm[0], rtm[1] = unix.AF_INET6, 128
	}
	binary.NativeEndian.PutUint32(rtm[8:], flags) // rtm_flags
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, addr.AsSlice())
	attrs, err := ae.Encode()
	if err != nil {
		return 0, 0, err
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(rtm, attrs...),
	})
	if err != nil {
		return 0, 0, err
	}
	if len(msgs) != 1 || len(msgs[0].Data) < unix.SizeofRtMsg {
		return 0, 0, errors.New("unexpected answer")
	}
	return parseRoute(msgs[0].Data)
}

// parseRoute reads rtm_type and RTA_OIF from an RTM_NEWROUTE message.
func parseRoute(b []byte) (typ uint8, oif int, err error) {
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofRtMsg:])
	if err != nil {
		return 0, 0, err
	}
	ad.ByteOrder = binary.NativeEndian
	for ad.Next() {
		if ad.Type() == unix.RTA_OIF {
			oif = int(ad.Uint32())
		}
	}
	return b[7], oif, ad.Err()
}
