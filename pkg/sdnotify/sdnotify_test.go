package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestSendReachesTheSocket(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@palisade-sdnotify-test"} {
		addr := name
		if addr[0] == '@' {
			addr = "\x00" + addr[1:]
		}
		ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTIFY_SOCKET", name)
		if err := Ready("enforcing generation 1"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		buf := make([]byte, 256)
		ln.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := ln.Read(buf)
		ln.Close()
		if err != nil || string(buf[:n]) != "READY=1\nSTATUS=enforcing generation 1" {
			t.Fatalf("%s: got %q, %v", name, buf[:n], err)
		}
	}
}

func TestNoSocketIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready("x"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", "relative/path")
	if err := Stopping(); err == nil {
		t.Fatal("a relative NOTIFY_SOCKET was accepted")
	}
}
