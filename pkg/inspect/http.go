package inspect

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
)

const maxHTTPHead = 8 << 10

// httpMethodLen bounds a request method, so a client cannot keep the
// decision pending by sending capital letters forever.
const httpMethodLen = 16

// looksLikeHTTP says whether b starts (or could still start) an HTTP/1.x
// request line: a method token of capitals, then a space.
func looksLikeHTTP(b []byte) (maybe, sure bool) {
	for i, c := range b {
		switch {
		case c == ' ' && i > 0:
			return true, true
		case c < 'A' || c > 'Z' || i >= httpMethodLen:
			return false, false
		}
	}
	return true, false
}

// HTTPHost returns the host an HTTP/1.x request is for: the host of an
// absolute-form target, else its one Host header (as servers do), without
// a port. errNeedMore until the whole request head has arrived.
func HTTPHost(b []byte) (string, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= maxHTTPHead {
			return "", RefuseTooLong
		}
		return "", errNeedMore
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:end+4])))
	if err != nil {
		return "", RefuseMalformed // also: several Host headers, or none in HTTP/1.1
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		return "", RefuseNoHost
	}
	return host, nil
}
