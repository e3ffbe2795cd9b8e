package inspect

import (
	"encoding/binary"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSQuestions returns the question names of a DNS query. A response, an
// opcode other than QUERY, or a query without questions is not a query a
// resolver rule lets through; nor is a message with bytes after its last
// section (its counts say fewer questions or records than it holds, and a
// resolver could read them otherwise).
func DNSQuestions(msg []byte) ([]string, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, RefuseNotDNS
	}
	if h.Response || h.OpCode != 0 {
		return nil, RefuseNotDNS
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) == 0 {
		return nil, RefuseNotDNS
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil || p.SkipAllAdditionals() != nil {
		return nil, RefuseNotDNS
	}
	if end, ok := dnsMessageEnd(msg); !ok || end != len(msg) {
		return nil, RefuseNotDNS
	}
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name.String()
	}
	return names, nil
}

// DNSOverTCP returns the question names of the first query on a DNS/TCP
// stream (a two-byte length, then the message, all of it: see
// DNSQuestions).
func DNSOverTCP(b []byte) ([]string, error) {
	if len(b) < 2 {
		return nil, errNeedMore
	}
	n := int(binary.BigEndian.Uint16(b))
	if n < 12 {
		return nil, RefuseNotDNS
	}
	if len(b) < 2+n {
		return nil, errNeedMore
	}
	return DNSQuestions(b[2 : 2+n])
}

// dnsMessageEnd walks a message's sections as its header counts them and
// says where the last one ends (dnsmessage does not say how far it read).
func dnsMessageEnd(msg []byte) (int, bool) {
	if len(msg) < 12 {
		return 0, false
	}
	off := 12
	count := func(i int) int { return int(binary.BigEndian.Uint16(msg[4+2*i:])) }
	for range count(0) { // questions: name, type, class
		var ok bool
		if off, ok = skipDNSName(msg, off); !ok {
			return 0, false
		}
		off += 4
	}
	for range count(1) + count(2) + count(3) { // records: name, type, class, ttl, rdlength, rdata
		var ok bool
		if off, ok = skipDNSName(msg, off); !ok || off+10 > len(msg) {
			return 0, false
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	}
	return off, off <= len(msg)
}

// skipDNSName returns the offset after the name at off: its labels up to
// the root, or up to a compression pointer.
func skipDNSName(msg []byte, off int) (int, bool) {
	for off < len(msg) {
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, true
			}
			off += 1 + c
		case 0xc0:
			return off + 2, off+2 <= len(msg)
		default:
			return 0, false
		}
	}
	return 0, false
}

// allowedDNS checks every question: one name outside the zones refuses.
func allowedDNS(zones []string, names []string) (string, error) {
	for _, n := range names {
		if !Match(zones, n) {
			return n, RefuseDNSName
		}
	}
	return names[0], nil
}
