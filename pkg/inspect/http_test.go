package inspect

import (
	"strings"
	"testing"
)

func TestHTTPHost(t *testing.T) {
	long := "GET / HTTP/1.1\r\nHost: a.example\r\nX: " + strings.Repeat("x", maxHTTPHead) + "\r\n\r\n"
	cases := []struct {
		name, req string
		want      string
		err       error
	}{
		{"host header", "GET / HTTP/1.1\r\nHost: A.Example:8080\r\n\r\n", "a.example", nil},
		{"bare LF", "GET / HTTP/1.1\nHost: a.example\n\n", "a.example", nil},
		{"mixed endings", "GET / HTTP/1.1\r\nUser-Agent: x\nHost: a.example\r\n\n", "a.example", nil},
		{"body after the head is not read", "POST / HTTP/1.1\r\nHost: a.example\r\n\r\nHost: b.example\r\r", "a.example", nil},
		{"value trimmed", "GET / HTTP/1.1\r\nHost:\t a.example \t\r\n\r\n", "a.example", nil},
		{"header name any case", "GET / HTTP/1.1\r\nhOST: a.example\r\n\r\n", "a.example", nil},
		{"absolute form alone", "GET http://a.example:81/x?y HTTP/1.1\r\n\r\n", "a.example", nil},
		{"absolute form, scheme any case", "GET HTTPS://A.example HTTP/1.1\r\n\r\n", "a.example", nil},
		{"absolute form and the same Host, ports aside", "GET http://a.example/ HTTP/1.1\r\nHost: A.example:80\r\n\r\n", "a.example", nil},
		{"absolute form and another Host", "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", "", RefuseHostConflict},
		{"absolute form with userinfo", "GET http://a.example@b.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", "", RefuseMalformed},
		{"absolute form with a fragment", "GET http://a.example#@b.example/ HTTP/1.1\r\n\r\n", "", RefuseMalformed},
		{"absolute form with a backslash", "GET http://b.example\\.a.example/ HTTP/1.1\r\n\r\n", "", RefuseMalformed},
		{"absolute form without host", "GET http:///x HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"other scheme", "GET ftp://a.example/ HTTP/1.1\r\n\r\n", "", RefuseMalformed},
		{"connect", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "a.example", nil},
		{"connect without port", "CONNECT a.example HTTP/1.1\r\n\r\n", "", RefuseMalformed},
		{"options *", "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", "a.example", nil},
		{"ipv6 literal", "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", "2001:db8::1", nil},
		{"ipv6 literal without port", "GET http://[::1]/ HTTP/1.1\r\n\r\n", "::1", nil},
		{"ipv6 with zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", "", RefuseMalformed},
		{"ipv6 unbracketed", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", "", RefuseMalformed},
		{"ipv4", "GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", "192.0.2.1", nil},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", "", RefuseMalformed},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a.example\r\n b.example\r\n\r\n", "", RefuseObsFold},
		{"obs-fold by tab", "GET / HTTP/1.1\r\nX: y\r\n\tHost: b.example\r\n\r\n", "", RefuseObsFold},
		{"bare CR", "GET / HTTP/1.1\r\nX: y\rHost: b.example\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"bare CR ending the head", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\r", "", RefuseMalformed},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a.example\x00.b.example\r\n\r\n", "", RefuseMalformed},
		{"NUL in another value", "GET / HTTP/1.1\r\nX: \x00\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"DEL in value", "GET / HTTP/1.1\r\nX: a\x7f\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"http/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "", RefuseNoHost},
		{"http/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", "", RefuseNoHost},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", "", RefuseNoHost},
		{"Host with a path", "GET / HTTP/1.1\r\nHost: a.example/x\r\n\r\n", "", RefuseMalformed},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: b.example@a.example\r\n\r\n", "", RefuseMalformed},
		{"Host with a space", "GET / HTTP/1.1\r\nHost: a.example b.example\r\n\r\n", "", RefuseMalformed},
		{"Host percent-encoded", "GET / HTTP/1.1\r\nHost: a%2eexample\r\n\r\n", "", RefuseMalformed},
		{"Host with two ports", "GET / HTTP/1.1\r\nHost: a.example:80:81\r\n\r\n", "", RefuseMalformed},
		{"Host with an empty port", "GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", "", RefuseMalformed},
		{"Host list", "GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n", "", RefuseMalformed},
		{"two spaces in request line", "GET  / HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"tab in request line", "GET\t/ HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"trailing space in request line", "GET / HTTP/1.1 \r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"http/0.9", "GET /\r\n\r\n", "", RefuseMalformed},
		{"http/2 version", "GET / HTTP/2.0\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"lowercase version", "GET / http/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"target with control byte", "GET /\x01 HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"target with a high byte", "GET /\xff HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"relative target", "GET a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", "", RefuseMalformed},
		{"header without colon", "GET / HTTP/1.1\r\nHost a.example\r\n\r\n", "", RefuseMalformed},
		{"head too long", long, "", RefuseTooLong},
		{"head unfinished", "GET / HTTP/1.1\r\nHost: a.example\r\n", "", errNeedMore},
		{"head unfinished, long", long[:maxHTTPHead], "", RefuseTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := HTTPHost([]byte(c.req))
			if got != c.want || err != c.err {
				t.Errorf("= %q, %v; want %q, %v", got, err, c.want, c.err)
			}
		})
	}
}

// Fed byte by byte, a request is undecided until its head ends, then
// decided on the host: no split point lets it decide early or otherwise.
func TestHTTPHostIncremental(t *testing.T) {
	for _, req := range []string{
		"GET /index.html HTTP/1.1\r\nUser-Agent: curl/8\r\nHost: a.example:80\r\nAccept: */*\r\n\r\n",
		"GET / HTTP/1.1\nHost: a.example\n\n",
		"GET http://a.example/ HTTP/1.0\r\n\r\n",
	} {
		for n := 0; n < len(req); n++ {
			if got, err := HTTPHost([]byte(req[:n])); err != errNeedMore {
				t.Fatalf("%q: first %d bytes: %q, %v; want errNeedMore", req, n, got, err)
			}
		}
		if got, err := HTTPHost([]byte(req + "more")); got != "a.example" || err != nil {
			t.Errorf("%q: %q, %v; want a.example", req, got, err)
		}
	}
}

// A refusal is made on the line that refuses, before the head ends, and
// stands whatever follows.
func TestHTTPHostRefusesEarly(t *testing.T) {
	for _, c := range []struct {
		req string
		err error
	}{
		{"GET / HTTP/1.1\r\nHost: a.example\r\n b", RefuseObsFold},
		{"GET / HTTP/1.1\rX", RefuseMalformed},
		{"GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n", RefuseMalformed},
		{"GET / HTTP/9\r\n", RefuseMalformed},
	} {
		for _, tail := range []string{"", "\r\n\r\n", "Host: a.example\r\n\r\n"} {
			if _, err := HTTPHost([]byte(c.req + tail)); err != c.err {
				t.Errorf("%q: %v, want %v", c.req+tail, err, c.err)
			}
		}
	}
}
