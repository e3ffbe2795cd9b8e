package control

import (
	"context"
	"net"
	"net/http"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

type peerKey struct{}

// withPeer records who is on the other end of a Unix socket connection,
// as the kernel tells it (SO_PEERCRED): the audit log's "who".
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, *cred)
}

// PeerUser names the local user who made the request ("uid 1000" when the
// uid has no name, "unknown" when the kernel did not say).
func PeerUser(r *http.Request) string {
	cred, ok := r.Context().Value(peerKey{}).(unix.Ucred)
	if !ok {
		return "unknown"
	}
	uid := strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "uid " + uid
}
