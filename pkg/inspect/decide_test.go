package inspect

import (
	"encoding/binary"
	"testing"

	"github.com/palisade-psn/palisade/pkg/rules"
	"golang.org/x/net/dns/dnsmessage"
)

func dnsQuery(t *testing.T, names ...string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		q := dnsmessage.Question{Name: dnsmessage.MustNewName(n), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
		if err := b.Question(q); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func tcpFramed(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

func TestDecideStream(t *testing.T) {
	in := &rules.Inspect{
		TLSSNI:   []string{"*.cloud.psn.example"},
		HTTPHost: []string{"intranet.psn.example"},
		DNS:      []string{"*.psn.example"},
	}
	cases := []struct {
		name   string
		b      []byte
		ok     bool
		allow  bool
		reason string
	}{
		{"allowed sni", clientHello(t, "a.cloud.psn.example"), true, true, AllowSNI},
		{"other sni", clientHello(t, "evil.example"), true, false, string(RefuseSNI)},
		{"no sni", clientHello(t, ""), true, false, string(RefuseNoSNI)},
		{"host", []byte("GET / HTTP/1.1\r\nHost: intranet.psn.example:80\r\n\r\n"), true, true, AllowHost},
		{"other host", []byte("GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n"), true, false, string(RefuseHost)},
		{"absolute form and another Host", []byte("GET http://evil.example/ HTTP/1.1\r\nHost: intranet.psn.example\r\n\r\n"), true, false, string(RefuseHostConflict)},
		{"absolute form wins", []byte("GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n"), true, false, string(RefuseHost)},
		{"two Host headers", []byte("GET / HTTP/1.1\r\nHost: intranet.psn.example\r\nHost: evil.example\r\n\r\n"), true, false, string(RefuseMalformed)},
		{"http/1.0 without host", []byte("GET / HTTP/1.0\r\n\r\n"), true, false, string(RefuseNoHost)},
		{"head not finished", []byte("GET / HTTP/1.1\r\nHost: intranet.psn.example\r\n"), false, false, ""},
		{"a method's first letters", []byte("GE"), false, false, ""},
		{"dns over tcp", tcpFramed(dnsQuery(t, "www.psn.example.")), true, true, AllowDNS},
		{"dns over tcp, one name outside", tcpFramed(dnsQuery(t, "www.psn.example.", "evil.example.")), true, false, string(RefuseDNSName)},
		{"dns over tcp, half", tcpFramed(dnsQuery(t, "www.psn.example."))[:9], false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := decideStream(in, c.b)
			if ok != c.ok || d.Allow != c.allow || d.Reason != c.reason {
				t.Errorf("= %+v ok=%v; want allow=%v reason=%q ok=%v", d, ok, c.allow, c.reason, c.ok)
			}
		})
	}
	tlsOnly := &rules.Inspect{TLSSNI: []string{"*.cloud.psn.example"}}
	if d, ok := decideStream(tlsOnly, []byte("GET / HTTP/1.1\r\nHost: a.cloud.psn.example\r\n\r\n")); !ok || d.Allow {
		t.Errorf("plain HTTP on a TLS-only rule: %+v ok=%v, want refused", d, ok)
	}
}

func TestDecideDatagram(t *testing.T) {
	in := &rules.Inspect{DNS: []string{"psn.example", "*.psn.example"}}
	resp := dnsQuery(t, "psn.example.")
	resp[2] |= 0x80 // QR: a response, not a query
	for _, c := range []struct {
		name   string
		b      []byte
		allow  bool
		reason string
	}{
		{"zone apex", dnsQuery(t, "psn.example."), true, AllowDNS},
		{"in zone", dnsQuery(t, "mail.psn.example."), true, AllowDNS},
		{"outside", dnsQuery(t, "evil.example."), false, string(RefuseDNSName)},
		{"response", resp, false, string(RefuseNotDNS)},
		{"not dns", []byte("hello"), false, string(RefuseNotDNS)},
	} {
		if d := decideDatagram(in, c.b); d.Allow != c.allow || d.Reason != c.reason {
			t.Errorf("%s: %+v, want allow=%v reason=%q", c.name, d, c.allow, c.reason)
		}
	}
}

func TestStreamReordering(t *testing.T) {
	var s stream
	s.start(1000)
	if ok, err := s.add(1007, []byte("world")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got := string(s.prefix()); got != "" {
		t.Fatalf("prefix with a hole = %q", got)
	}
	if _, err := s.add(1001, []byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if got := string(s.prefix()); got != "hello world" {
		t.Fatalf("prefix = %q", got)
	}
	if _, err := s.add(1001, []byte("jello")); err != RefuseInconsistent {
		t.Errorf("conflicting retransmission: %v, want %v", err, RefuseInconsistent)
	}
	if ok, _ := s.add(900, []byte("x")); ok {
		t.Errorf("bytes before the stream start were taken")
	}
}
