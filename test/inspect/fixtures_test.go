package inspect_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// tlsFixture is a self-signed certificate for the cloud tenants, made per
// test, and a server that answers each line with "pong <line>".
type tlsFixture struct {
	server *tls.Config
	roots  *x509.CertPool
	cert   []byte // the certificate (its own CA), DER
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cloud.psn.example"},
		DNSNames:     []string{"*.cloud.psn.example", "evil.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tlsFixture{
		server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		roots:  roots,
		cert:   der,
	}
}

// caFile writes the certificate as PEM for command-line clients (curl
// --cacert, openssl -CAfile).
func (f *tlsFixture) caFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.cert}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *tlsFixture) client(name string) *tls.Config {
	return &tls.Config{ServerName: name, RootCAs: f.roots}
}

func (f *tlsFixture) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			tc := tls.Server(c, f.server)
			r := bufio.NewReader(tc)
			for i := range 10000 {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if i == 0 && strings.HasPrefix(line, "GET ") {
					answerHTTP(tc, r) // curl
					return
				}
				if _, err := io.WriteString(tc, "pong "+line); err != nil {
					return
				}
			}
		}()
	}
}

// answerHTTP reads the rest of a request head and answers it, for HTTPS
// clients such as curl.
func answerHTTP(w io.Writer, r *bufio.Reader) {
	for range 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
	}
	const body = "cloud storage tenant\n"
	fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// chunked writes in tiny pieces, each its own segment (TCP_NODELAY), with
// a pause so the kernel does not coalesce them: the tiny-segment evasion.
type chunked struct {
	*net.TCPConn
	size int
}

func (c chunked) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(c.size, len(b))
		m, err := c.TCPConn.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
		time.Sleep(200 * time.Microsecond)
	}
	return n, nil
}

// answer builds a resolver's reply: an A record for each question.
func answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true})
	b.StartQuestions()
	for _, q := range qs {
		b.Question(q)
	}
	b.StartAnswers()
	for _, q := range qs {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.AResource{A: [4]byte{198, 19, 20, 99}})
	}
	msg, _ := b.Finish()
	return msg
}

func serveDNSUDP(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if a := answer(buf[:n]); a != nil {
			pc.WriteTo(a, from)
		}
	}
}

func serveDNSTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var l [2]byte
			if _, err := io.ReadFull(c, l[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			a := answer(q)
			c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(a))), a...))
		}()
	}
}

// dnsQuery builds a query for name (absolute, with the final dot).
func dnsQuery(t *testing.T, name string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 42, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
