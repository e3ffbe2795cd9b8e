package inspect

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// captureHello is clientHello for any testing.TB (fuzz seeds among them)
// and any client configuration.
func captureHello(tb testing.TB, cfg *tls.Config) []byte {
	tb.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		_ = tls.Client(c, cfg).Handshake() // fails when s closes
		c.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if _, herr := ClientHelloSNI(out); herr != errNeedMore || err != nil {
			return out
		}
	}
}

func record(typ byte, payload ...byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

func TestClientHelloSNIRecords(t *testing.T) {
	hello := captureHello(t, &tls.Config{ServerName: "a.cloud.psn.example", InsecureSkipVerify: true})
	split := reframe(hello, 100)
	ccs, alert, appData := record(20, 1), record(21, 1, 0), record(23, 'x')
	cases := []struct {
		name string
		b    []byte
		want string
		err  error
	}{
		{"change_cipher_spec inside the hello", cat(split[:105], ccs, split[105:]), "", RefuseMalformed},
		{"alert inside the hello", cat(split[:105], alert), "", RefuseMalformed},
		{"application data inside the hello", cat(split[:105], appData, split[105:]), "", RefuseMalformed},
		{"change_cipher_spec after the hello", cat(hello, ccs), "a.cloud.psn.example", nil},
		{"application data after the hello", cat(hello, appData), "a.cloud.psn.example", nil},
		{"a bad record after the hello", cat(hello, []byte{22, 9, 9, 0, 0}), "a.cloud.psn.example", nil},
		{"an empty record after the hello", cat(hello, record(22)), "a.cloud.psn.example", nil},
		{"an empty record inside the hello", cat(split[:105], record(22), split[105:]), "", RefuseMalformed},
		{"declared longer than a ClientHello may be", record(22, 1, 0, 0x40, 0x01), "", RefuseTooLong},
		{"longest a ClientHello may be, unfinished", record(22, 1, 0, 0x40, 0x00), "", errNeedMore},
		{"not a ClientHello", record(22, 2, 0, 0, 0), "", RefuseMalformed},
		{"record version 2", []byte{22, 2, 0, 0, 4, 1, 0, 0, 0}, "", RefuseMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ClientHelloSNI(c.b)
			if got != c.want || err != c.err {
				t.Errorf("= %q, %v; want %q, %v", got, err, c.want, c.err)
			}
		})
	}
}

// A decision, once made, stands whatever the client sends next.
func TestClientHelloSNIStands(t *testing.T) {
	hello := captureHello(t, &tls.Config{ServerName: "a.cloud.psn.example", InsecureSkipVerify: true})
	for _, b := range [][]byte{hello, reframe(hello, 7), record(22, 1, 0, 0x40, 0x01), record(22, 2, 0, 0, 0)} {
		want, werr := ClientHelloSNI(b)
		for _, tail := range [][]byte{{0}, {20}, {22, 0}, {22, 9, 9, 0, 0}, bytes.Repeat([]byte{23}, 300), hello} {
			if got, err := ClientHelloSNI(cat(b, tail)); got != want || err != werr {
				t.Errorf("with %d more bytes: %q, %v; want %q, %v", len(tail), got, err, want, werr)
			}
		}
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// helloConn hands a server the client's bytes and swallows its answers.
type helloConn struct {
	net.Conn // nil: only the methods below are called
	r        io.Reader
}

func (c helloConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c helloConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c helloConn) Close() error                     { return nil }
func (c helloConn) SetDeadline(time.Time) error      { return nil }
func (c helloConn) SetReadDeadline(time.Time) error  { return nil }
func (c helloConn) SetWriteDeadline(time.Time) error { return nil }
func (c helloConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// serverReadsSNI is the server name crypto/tls's server reads from b, and
// whether it read a ClientHello at all.
func serverReadsSNI(b []byte) (string, bool) {
	var name string
	read := false
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		name, read = h.ServerName, true
		return nil, io.EOF // enough: stop the handshake here
	}}
	_ = tls.Server(helloConn{r: bytes.NewReader(b)}, cfg).Handshake()
	return name, read
}

func TestServerReadsSNI(t *testing.T) {
	hello := captureHello(t, &tls.Config{ServerName: "a.cloud.psn.example", InsecureSkipVerify: true})
	for _, b := range [][]byte{hello, reframe(hello, 50)} {
		if name, ok := serverReadsSNI(b); !ok || name != "a.cloud.psn.example" {
			t.Errorf("crypto/tls read %q, %v", name, ok)
		}
	}
	if _, ok := serverReadsSNI(cat(reframe(hello, 50)[:60], record(20, 1))); ok {
		t.Errorf("crypto/tls read a ClientHello interrupted by change_cipher_spec")
	}
}
