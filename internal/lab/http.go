package lab

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HTTPGet fetches http://addr/path from inside the namespace (a metrics
// endpoint, say) and returns the body of a 200 answer. The socket is made
// inside the namespace; net/http would dial from a thread outside it.
func (n *NS) HTTPGet(addr, path string, timeout time.Duration) (string, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("connect to %s in %s: %w", addr, n.Name, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		return "", fmt.Errorf("GET %s%s: %w", addr, path, err)
	}
	resp, err := readResponse(c)
	if err != nil {
		return "", fmt.Errorf("GET %s%s: %w", addr, path, err)
	}
	return resp, nil
}

func readResponse(c net.Conn) (string, error) {
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}
