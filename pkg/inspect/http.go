package inspect

import (
	"bytes"
	"net/netip"
	"strings"
)

// maxHTTPHead bounds a request head: one that has not ended within it is
// refused, however the rest of it would read.
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

// HTTPHost returns the host an HTTP/1.x request is for, lowercased and
// without a port: the host of an absolute-form (or CONNECT's authority-form)
// target, else its one Host header. errNeedMore until the whole request head
// has arrived.
//
// It reads the head as strictly as the strictest server and refuses what
// servers could read in different ways, so the host it returns is the one
// any of them would use: lines end in CRLF or a bare LF (as nginx, Go and
// Node accept), a bare CR anywhere refuses; the request line is three
// fields one space apart; field names are tokens ("Host : x" refuses);
// folded lines and control characters in values refuse; an absolute-form
// target with userinfo, a Host header naming another host, several Host
// headers, or a host that is neither a hostname nor an IP literal refuse.
//
// Each line is judged as soon as it ends, and only the first maxHTTPHead
// bytes are read, so a refusal or a host, once returned, does not change
// as more bytes arrive.
func HTTPHost(b []byte) (string, error) {
	head := b[:min(len(b), maxHTTPHead)]
	host, err := readHead(head)
	if err == errNeedMore && len(b) >= maxHTTPHead {
		return "", RefuseTooLong
	}
	return host, err
}

func readHead(b []byte) (string, error) {
	line, b, err := httpLine(b)
	if err != nil {
		return "", err
	}
	target, err := requestLine(line)
	if err != nil {
		return "", err
	}
	var header string // the Host header's host, once seen
	for {
		if len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			// obs-fold: servers join it to the line before, reject it, or
			// read it as a header of its own. Known from its first byte.
			return "", RefuseObsFold
		}
		if line, b, err = httpLine(b); err != nil {
			return "", err
		}
		if len(line) == 0 {
			break // the empty line ending the head
		}
		name, value, err := headerLine(line)
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(name, "host") {
			continue
		}
		if header != "" {
			// RFC 9112 §3.2: a request with more than one Host header is
			// invalid (a 400), whether or not they agree: malformed, not a
			// conflict between two ways of naming the host.
			return "", RefuseMalformed
		}
		if header, err = hostPort(value); err != nil {
			return "", err
		}
	}
	switch {
	case target != "" && header != "" && target != header:
		// RFC 9112 §3.2.2 has a server use the target and ignore Host,
		// but proxies and virtual hosts in front of it may not.
		return "", RefuseHostConflict
	case target != "":
		return target, nil
	case header != "":
		return header, nil
	}
	return "", RefuseNoHost // HTTP/1.0 as much as HTTP/1.1
}

// httpLine splits off b's first line without its line ending (CRLF or
// LF). A CR not followed by LF refuses as soon as it is seen.
func httpLine(b []byte) (line, rest []byte, err error) {
	for i, c := range b {
		switch {
		case c == '\n':
			line = b[:i]
			if i > 0 && b[i-1] == '\r' {
				line = b[:i-1]
			}
			return line, b[i+1:], nil
		case c == '\r' && i+1 < len(b) && b[i+1] != '\n':
			return nil, nil, RefuseMalformed
		}
	}
	return nil, nil, errNeedMore
}

// requestLine reads "method SP request-target SP HTTP-version" and returns
// the host the target names, if it names one.
func requestLine(line []byte) (string, error) {
	method, rest, _ := bytes.Cut(line, []byte{' '})
	target, version, _ := bytes.Cut(rest, []byte{' '})
	if !isToken(method) || len(target) == 0 || !visibleASCII(target) {
		return "", RefuseMalformed
	}
	if v := string(version); v != "HTTP/1.1" && v != "HTTP/1.0" {
		return "", RefuseMalformed // also a second space, or none (HTTP/0.9)
	}
	return targetHost(string(method), string(target))
}

// targetHost returns the host of an absolute-form target, or of CONNECT's
// authority-form one; "" for origin-form (and OPTIONS *), which leave the
// host to the Host header.
func targetHost(method, target string) (string, error) {
	switch {
	case method == "CONNECT":
		if !strings.Contains(target, ":") || strings.HasPrefix(target, "/") {
			return "", RefuseMalformed // authority-form is host:port
		}
		return hostPort(target)
	case target[0] == '/':
		return "", nil
	case target == "*" && method == "OPTIONS":
		return "", nil
	}
	scheme, rest, ok := strings.Cut(target, "://")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return "", RefuseMalformed
	}
	// The authority ends at the path or the query. Not at '#': a request
	// carries no fragment, and parsers that would end it there and parsers
	// that would not (Go's) read different hosts in "http://a#@b/"; here
	// the '#' refuses, as any byte a hostname cannot hold.
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	if authority == "" || strings.Contains(authority, "@") {
		return "", RefuseMalformed // no host, or userinfo: which is the host?
	}
	return hostPort(authority)
}

// headerLine reads "field-name: value", the value trimmed of SP and HTAB.
func headerLine(line []byte) (name, value string, err error) {
	n, v, ok := bytes.Cut(line, []byte{':'})
	if !ok || !isToken(n) {
		return "", "", RefuseMalformed
	}
	v = bytes.Trim(v, " \t")
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return "", "", RefuseMalformed
		}
	}
	return string(n), string(v), nil
}

// hostPort returns the host of "host[:port]", lowercased: a hostname or
// IPv4 address of letters, digits, '-', '.' and '_', or an IPv6 literal in
// brackets (returned without them). Anything else, such as '/', '@', '%',
// spaces or a port that is not a number, refuses.
func hostPort(s string) (string, error) {
	if s == "" {
		return "", RefuseNoHost
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", RefuseMalformed
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" {
			if rest[0] != ':' || !validPort(rest[1:]) {
				return "", RefuseMalformed
			}
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", RefuseMalformed
		}
		return strings.ToLower(host), nil
	}
	host, port, hasPort := strings.Cut(s, ":")
	if host == "" || hasPort && !validPort(port) {
		return "", RefuseMalformed
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", RefuseMalformed
		}
	}
	return strings.ToLower(host), nil
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// isToken says whether b is an RFC 9110 token: a method or a field name.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// visibleASCII says b has no whitespace, control or non-ASCII bytes.
func visibleASCII(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
