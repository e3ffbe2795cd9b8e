package lab

import (
	"errors"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// anySourceControl lets a client socket bind to, and send from, an address
// the namespace does not own (IP_FREEBIND for the bind, IP_TRANSPARENT for
// the route lookup), so tests can send as a spoofed source.
func anySourceControl(network, _ string, c syscall.RawConn) error {
	if strings.HasSuffix(network, "6") {
		return setOpts(c, unix.SOL_IPV6, 1, unix.IPV6_FREEBIND, unix.IPV6_TRANSPARENT)
	}
	return setOpts(c, unix.SOL_IP, 1, unix.IP_FREEBIND, unix.IP_TRANSPARENT)
}

// freebindControl lets a listener bind an address that is not (yet) usable,
// e.g. an IPv6 address still doing duplicate address detection.
func freebindControl(network, _ string, c syscall.RawConn) error {
	if strings.HasSuffix(network, "6") {
		return setOpts(c, unix.SOL_IPV6, 1, unix.IPV6_FREEBIND)
	}
	return setOpts(c, unix.SOL_IP, 1, unix.IP_FREEBIND)
}

// setOpts sets each integer socket option opts at level to value.
func setOpts(c syscall.RawConn, level, value int, opts ...int) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if serr == nil {
				serr = unix.SetsockoptInt(int(fd), level, o, value)
			}
		}
	})
	return errors.Join(err, serr)
}
