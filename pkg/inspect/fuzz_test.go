package inspect

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/pkg/rules"
	"golang.org/x/net/dns/dnsmessage"
)

// The parsers' common property: once bytes decide (anything but
// errNeedMore), more bytes after them do not change the decision. The
// tracker relies on it: it decides on a first segment alone when it can.

func cut(b []byte, at uint16) []byte { return b[:int(at)%(len(b)+1)] }

// seedHellos are real first flights: TLS 1.3 and 1.2 clients, with and
// without a server name, whole and split over small records.
func seedHellos(f *testing.F) [][]byte {
	var out [][]byte
	for _, cfg := range []*tls.Config{
		{ServerName: "a.cloud.psn.example", InsecureSkipVerify: true},
		{ServerName: "intranet.psn.example", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}},
		{InsecureSkipVerify: true},
	} {
		h := captureHello(f, cfg)
		out = append(out, h, reframe(h, 64))
	}
	return out
}

var seedRequests = []string{
	"GET / HTTP/1.1\r\nHost: intranet.psn.example\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
	"GET / HTTP/1.1\nHost: intranet.psn.example:8080\n\n",
	"GET http://intranet.psn.example/x HTTP/1.1\r\nHost: intranet.psn.example\r\n\r\n",
	"CONNECT intranet.psn.example:443 HTTP/1.1\r\nHost: intranet.psn.example:443\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: [2001:db8::1]:80\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: intranet.psn.example\r\nContent-Length: 3\r\n\r\nabc",
}

func seedQueries(f *testing.F) [][]byte {
	return [][]byte{
		withOPT(f, "www.psn.example."),
		withOPT(f, "www.psn.example.", "evil.example."),
		withOPT(f, "mail.psn.example.", "psn.example."),
	}
}

func FuzzClientHelloSNI(f *testing.F) {
	for _, h := range seedHellos(f) {
		f.Add(h, uint16(len(h)/2))
		f.Add(cat(h, record(20, 1)), uint16(len(h)))
		f.Add(cat(h[:100], record(21, 1, 0), h[100:]), uint16(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		name, err := ClientHelloSNI(b)
		if pn, perr := ClientHelloSNI(cut(b, at)); perr != errNeedMore && (pn != name || perr != err) {
			t.Fatalf("prefix decided %q, %v; the whole %q, %v", pn, perr, name, err)
		}
		if err != nil {
			return
		}
		if name == "" {
			t.Fatal("accepted an empty name")
		}
		if srv, read := serverReadsSNI(b); read && srv != name {
			t.Fatalf("read %q, crypto/tls's server reads %q", name, srv)
		}
	})
}

func FuzzHTTPHost(f *testing.F) {
	for _, r := range seedRequests {
		f.Add([]byte(r), uint16(len(r)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		host, err := HTTPHost(b)
		if ph, perr := HTTPHost(cut(b, at)); perr != errNeedMore && (ph != host || perr != err) {
			t.Fatalf("prefix decided %q, %v; the whole %q, %v", ph, perr, host, err)
		}
		if err != nil {
			return
		}
		lit := host // as it would be written in a Host header
		if a, aerr := netip.ParseAddr(host); aerr == nil && a.Is6() {
			lit = "[" + host + "]"
		}
		if h, herr := hostPort(lit); herr != nil || h != host || strings.ToLower(host) != host {
			t.Fatalf("returned %q, not a bare lowercase host", host)
		}
		// net/http reads the same host, or does not read the request.
		req, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if rerr != nil {
			return
		}
		goHost := req.Host
		if h, _, err := net.SplitHostPort(goHost); err == nil {
			goHost = h
		}
		goHost = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(goHost, "["), "]"))
		if goHost != host {
			t.Fatalf("read %q, net/http reads %q", host, req.Host)
		}
	})
}

func FuzzDNSQuestions(f *testing.F) {
	for _, q := range seedQueries(f) {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		names, err := DNSQuestions(msg)
		if err != nil {
			return
		}
		if len(names) == 0 || len(names) != int(binary.BigEndian.Uint16(msg[4:])) {
			t.Fatalf("%d names, QDCOUNT %d", len(names), binary.BigEndian.Uint16(msg[4:]))
		}
		if end, ok := dnsMessageEnd(msg); !ok || end != len(msg) {
			t.Fatalf("accepted a message ending at %d of %d", end, len(msg))
		}
		if more, err := DNSQuestions(append(slices.Clip(msg), 0)); err == nil {
			t.Fatalf("accepted a trailing byte: %q", more)
		}
		// The names, asked again in a query of their own, read back the same.
		bld := dnsmessage.NewBuilder(nil, dnsmessage.Header{})
		_ = bld.StartQuestions()
		for _, n := range names {
			dn, err := dnsmessage.NewName(n)
			if err != nil {
				t.Fatalf("name %q: %v", n, err)
			}
			if err := bld.Question(dnsmessage.Question{Name: dn, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
				t.Fatalf("name %q: %v", n, err)
			}
		}
		again, err := bld.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if back, err := DNSQuestions(again); err != nil || !slices.Equal(back, names) {
			t.Fatalf("%q read back as %q, %v", names, back, err)
		}
	})
}

func FuzzDNSOverTCP(f *testing.F) {
	for _, q := range seedQueries(f) {
		f.Add(tcpFramed(q), uint16(5))
		f.Add(append(tcpFramed(q), tcpFramed(q)...), uint16(len(q)+2))
	}
	f.Fuzz(func(t *testing.T, b []byte, at uint16) {
		names, err := DNSOverTCP(b)
		if pn, perr := DNSOverTCP(cut(b, at)); perr != errNeedMore && (!slices.Equal(pn, names) || perr != err) {
			t.Fatalf("prefix decided %q, %v; the whole %q, %v", pn, perr, names, err)
		}
		if err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(b))
		if msg, merr := DNSQuestions(b[2 : 2+n]); merr != nil || !slices.Equal(msg, names) {
			t.Fatalf("framed %q, the message alone %q, %v", names, msg, merr)
		}
	})
}

// FuzzStream places segments (a signed 16-bit offset from the start, a
// length, the bytes) and checks the stream against a model: every byte
// first accepted at each offset below the bound.
func FuzzStream(f *testing.F) {
	f.Add(uint32(1000), []byte("\x00\x06\x05world\x00\x00\x06hello \x00\x00\x05jello"))
	f.Add(uint32(0xffffffff), []byte("\x00\x00\x03abc\xff\xff\x02zz\x00\x02\x03cde"))
	f.Add(uint32(7), []byte("\x43\xf0\x20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x43\xf8\x10bbbbbbbbbbbbbbbb"))
	f.Fuzz(func(t *testing.T, isn uint32, ops []byte) {
		var s stream
		if ok, err := s.add(isn, []byte("x")); ok || err != RefuseNoStart {
			t.Fatalf("add before the start is known: %v, %v", ok, err)
		}
		s.start(isn)
		model := map[int]byte{}
		for len(ops) >= 3 {
			off := int(int16(binary.BigEndian.Uint16(ops)))
			data := ops[3:][:min(int(ops[2]), len(ops)-3)]
			ops = ops[3+len(data):]
			conflict := false
			for i, c := range data {
				if v, seen := model[off+i]; seen && v != c && off >= 0 && off+i < maxStreamBytes {
					conflict = true
				}
			}
			ok, err := s.add(isn+1+uint32(off), data)
			if want := off >= 0 && off < maxStreamBytes; ok != want {
				t.Fatalf("segment at %d: in range %v, want %v", off, ok, want)
			}
			if (err == RefuseInconsistent) != conflict || err != nil && err != RefuseInconsistent {
				t.Fatalf("segment at %d: %v, conflict %v", off, err, conflict)
			}
			if err != nil {
				return // the flow is refused; the stream is not read again
			}
			for i, c := range data {
				if ok && off+i < maxStreamBytes {
					if _, seen := model[off+i]; !seen {
						model[off+i] = c
					}
				}
			}
			checkPrefix(t, &s, model, isn)
		}
	})
}

func checkPrefix(t *testing.T, s *stream, model map[int]byte, isn uint32) {
	t.Helper()
	p := s.prefix()
	if len(p) > maxStreamBytes || s.full() != (len(p) >= maxStreamBytes) {
		t.Fatalf("prefix of %d bytes, full %v", len(p), s.full())
	}
	for i, c := range p {
		if v, seen := model[i]; !seen || v != c {
			t.Fatalf("prefix byte %d = %q, model %q (%v)", i, c, v, seen)
		}
	}
	if _, seen := model[len(p)]; seen && len(p) < maxStreamBytes {
		t.Fatalf("prefix stops at %d, before a byte received", len(p))
	}
	if s.empty(isn+1) != (len(model) == 0) {
		t.Fatalf("empty %v with %d bytes received", s.empty(isn+1), len(model))
	}
}

// FuzzDecode: the decoder never panics, and what it reads of a packet is
// there in the packet: addresses and ports at their places, the payload a
// part of it.
func FuzzDecode(f *testing.F) {
	for _, b := range seedPackets(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, ok := newDecoder().decode(b)
		if !ok {
			return
		}
		if len(pk.payload) > 0 && !within(pk.payload, b) {
			t.Fatalf("payload not in the packet")
		}
		var src, dst []byte
		var l4 []int // where the ports can be
		switch {
		case pk.src.Is4():
			src, dst = b[12:16], b[16:20]
			l4 = []int{int(b[0]&0xf) * 4}
		case pk.src.Is6():
			src, dst = b[8:24], b[24:40]
			l4 = []int{40, 48}
		}
		if !bytes.Equal(pk.src.AsSlice(), src) || !bytes.Equal(pk.dst.AsSlice(), dst) {
			t.Fatalf("addresses %v %v, packet has %x %x", pk.src, pk.dst, src, dst)
		}
		if pk.sport == 0 && pk.dport == 0 {
			return
		}
		for _, o := range l4 {
			if o+4 <= len(b) && binary.BigEndian.Uint16(b[o:]) == pk.sport && binary.BigEndian.Uint16(b[o+2:]) == pk.dport {
				return
			}
		}
		t.Fatalf("ports %d %d are not in the packet", pk.sport, pk.dport)
	})
}

func seedPackets(tb testing.TB) [][]byte {
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			tb.Fatal(err)
		}
		return bytes.Clone(buf.Bytes())
	}
	ip4 := &layers.IPv4{Version: 4, IHL: 6, Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{198, 18, 1, 10}, DstIP: net.IP{198, 19, 20, 30}}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, ACK: true, PSH: true, URG: true, Urgent: 1, Window: 100}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = tcp.SetNetworkLayerForChecksum(ip4)
	tcp4 := ser(ip4, tcp, gopacket.Payload("hello"))
	ip4u := *ip4
	ip4u.Protocol = layers.IPProtocolUDP
	_ = udp.SetNetworkLayerForChecksum(&ip4u)
	udp4 := ser(&ip4u, udp, gopacket.Payload("q"))
	_ = tcp.SetNetworkLayerForChecksum(ip6)
	tcp6 := ser(ip6, tcp, gopacket.Payload("hello"))
	frag4 := *ip4
	frag4.Flags = layers.IPv4MoreFragments
	first4 := ser(&frag4, gopacket.Payload(tcp4[24:40]))
	frag6 := *ip6
	frag6.NextHeader = layers.IPProtocolIPv6Fragment
	first6 := ser(&frag6, gopacket.Payload(append([]byte{6, 0, 0, 1, 0, 0, 0, 9}, tcp6[40:60]...)))
	return [][]byte{tcp4, udp4, tcp6, first4, first6}
}

// within says p is a part of b's memory.
func within(p, b []byte) bool {
	ps, bs := uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return ps >= bs && ps+uintptr(len(p)) <= bs+uintptr(len(b))
}

// FuzzDecideStream decides a stream under rules listing any of the three
// protocols. A decision on a prefix is the decision on the whole (the
// tracker decides on a first segment alone when it can), an allowed name is
// one the rule lists for its protocol, and a reason is one of the known.
func FuzzDecideStream(f *testing.F) {
	for _, h := range seedHellos(f) {
		f.Add(h, uint16(len(h)-1), uint8(7))
	}
	for _, r := range seedRequests {
		f.Add([]byte(r), uint16(len(r)/2), uint8(2))
	}
	for _, q := range seedQueries(f) {
		f.Add(tcpFramed(q), uint16(3), uint8(5))
	}
	f.Fuzz(func(t *testing.T, b []byte, at uint16, which uint8) {
		in := &rules.Inspect{}
		if which&1 != 0 {
			in.TLSSNI = []string{"*.cloud.psn.example"}
		}
		if which&2 != 0 {
			in.HTTPHost = []string{"intranet.psn.example", "*.cloud.psn.example"}
		}
		if which&4 != 0 {
			in.DNS = []string{"psn.example", "*.psn.example"}
		}
		d, ok := decideStream(in, b)
		if pd, pok := decideStream(in, cut(b, at)); pok && (!ok || pd != d) {
			t.Fatalf("prefix decided %+v; the whole %+v, %v", pd, d, ok)
		}
		if !ok {
			return
		}
		lists := map[string][]string{AllowSNI: in.TLSSNI, AllowHost: in.HTTPHost, AllowDNS: in.DNS}
		if d.Allow && !Match(lists[d.Reason], d.Name) {
			t.Fatalf("allowed %+v, not in the rule's list", d)
		}
		if !d.Allow && !knownRefusal[Refusal(d.Reason)] {
			t.Fatalf("refused for %q", d.Reason)
		}
	})
}

var knownRefusal = map[Refusal]bool{
	RefuseNoSNI: true, RefuseSNI: true, RefuseNoHost: true, RefuseHost: true,
	RefuseDNSName: true, RefuseNotDNS: true, RefuseMalformed: true,
	RefuseUnrecognised: true, RefuseTooLong: true, RefuseObsFold: true,
	RefuseHostConflict: true,
}
