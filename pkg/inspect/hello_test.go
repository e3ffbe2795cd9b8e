package inspect

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// clientHello captures the first flight of a real crypto/tls client: the
// ClientHello records exactly as they would go on the wire.
func clientHello(t *testing.T, serverName string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		tc := tls.Client(c, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
		_ = tc.Handshake() // fails when s closes; only its first flight matters
		c.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if _, herr := ClientHelloSNI(out); herr != errNeedMore || err == io.EOF || err != nil {
			return out
		}
	}
}

// reframe splits the ClientHello's handshake bytes over TLS records of at
// most size bytes each: legal TLS, and a classic way to hide a name.
func reframe(hello []byte, size int) []byte {
	hs, _ := handshakeBytes(hello)
	var out []byte
	for len(hs) > 0 {
		n := min(size, len(hs))
		out = append(out, tlsRecordHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, hs[:n]...)
		hs = hs[n:]
	}
	return out
}

func TestClientHelloSNI(t *testing.T) {
	hello := clientHello(t, "files.cloud.psn.example")
	cases := []struct {
		name string
		b    []byte
		want string
		err  error
	}{
		{"whole", hello, "files.cloud.psn.example", nil},
		{"records of 40 bytes", reframe(hello, 40), "files.cloud.psn.example", nil},
		{"no server name", clientHello(t, ""), "", RefuseNoSNI},
		{"not tls", []byte("GET / HTTP/1.1\r\n"), "", RefuseUnrecognised},
		{"garbage handshake", []byte{22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0}, "", RefuseMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ClientHelloSNI(c.b)
			if got != c.want || err != c.err {
				t.Errorf("= %q, %v; want %q, %v", got, err, c.want, c.err)
			}
		})
	}
	// Every cut short of the whole hello asks for more; none decides early.
	for _, b := range [][]byte{hello, reframe(hello, 40)} {
		for n := 0; n < len(b); n++ {
			if _, err := ClientHelloSNI(b[:n]); err != errNeedMore {
				t.Fatalf("first %d of %d bytes: %v, want errNeedMore", n, len(b), err)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	pats := []string{"*.cloud.psn.example", "intranet.psn.example"}
	for name, want := range map[string]bool{
		"a.cloud.psn.example":      true,
		"A.Cloud.PSN.example.":     true,
		"x.y.cloud.psn.example":    true,
		"cloud.psn.example":        false,
		"evilcloud.psn.example":    false,
		"intranet.psn.example":     true,
		"www.intranet.psn.example": false,
		"a.cloud.psn.example\x00x": false,
		"":                         false,
	} {
		if got := Match(pats, name); got != want {
			t.Errorf("Match(%q) = %v, want %v", name, got, want)
		}
	}
}
