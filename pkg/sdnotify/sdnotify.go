// Package sdnotify tells systemd how palisaded is doing (sd_notify(3)), so
// the unit can be Type=notify: systemd then counts the agent as started
// only once the boundary is attached and the policy published, and units
// ordered after it (networking, with Before=network-pre.target) wait for
// that. It writes to $NOTIFY_SOCKET and does nothing when that is unset,
// as when palisaded runs by hand or in tests.
package sdnotify

import (
	"errors"
	"net"
	"os"
	"strings"
)

// Ready says the boundary is attached and the policy published.
func Ready(status string) error { return Send("READY=1", "STATUS="+status) }

// Stopping says the agent is leaving (enforcement stays pinned).
func Stopping() error { return Send("STOPPING=1", "STATUS=leaving; enforcement stays in place") }

// Status updates the line `systemctl status` shows.
func Status(status string) error { return Send("STATUS=" + status) }

// Send writes one notification of newline-separated assignments. A missing
// socket is not an error: systemd did not ask to be told.
func Send(assignments ...string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if strings.HasPrefix(path, "@") { // abstract socket
		path = "\x00" + path[1:]
	}
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "\x00") {
		return errors.New("sdnotify: NOTIFY_SOCKET is neither a path nor an abstract socket")
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(strings.Join(assignments, "\n")))
	return err
}
