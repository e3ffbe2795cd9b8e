package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Limits that keep an echo server bounded even if a test forgets it: one
// connection lives at most connLifetime and echoes at most maxEcho bytes,
// and every server stops when its lab closes.
const (
	connLifetime = 30 * time.Second
	maxEcho      = 1 << 20
)

// ServeTCP starts a TCP echo server on addr ("[::]:443" for both
// families, "198.19.10.10:443" for one address). The listening socket is
// made inside the namespace; stop closes it and every open connection.
func (n *NS) ServeTCP(addr string) (stop func(), err error) {
	network, err := sockNetwork("tcp", addr)
	if err != nil {
		return nil, err
	}
	var ln net.Listener
	err = n.Do(func() (err error) {
		lc := net.ListenConfig{Control: freebindControl}
		ln, err = lc.Listen(context.Background(), network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tcp echo on %s in %s: %w", addr, n.Name, err)
	}
	s := &echoServer{closers: []io.Closer{ln}, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.acceptLoop(ln)
	n.lab.onClose(s.stop)
	return s.stop, nil
}

// echoServer tracks what a server owns so stop can end all of it and wait.
type echoServer struct {
	closers []io.Closer // listening or datagram sockets
	wg      sync.WaitGroup
	once    sync.Once

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *echoServer) stop() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		for _, c := range s.closers {
			c.Close()
		}
		s.wg.Wait()
	})
}

// acceptLoop ends when the listener is closed by stop.
func (s *echoServer) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		go s.echoConn(c)
	}
}

// track registers a connection unless the server is stopping.
func (s *echoServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *echoServer) echoConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(connLifetime))
	io.Copy(c, io.LimitReader(c, maxEcho))
}

// sockNetwork picks the socket family from the address: a wildcard "::" or
// empty host listens on both families, anything else on its own family.
func sockNetwork(proto, addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" || host == "::" {
		return proto, nil
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "", fmt.Errorf("address %q: host must be an IP literal", addr)
	case ip.To4() != nil:
		return proto + "4", nil
	default:
		return proto + "6", nil
	}
}
