package inspect

import (
	"encoding/binary"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSQuestions returns the question names of a DNS query. A response, an
// opcode other than QUERY, or a query without questions is not a query a
// resolver rule lets through.
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
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name.String()
	}
	return names, nil
}

// DNSOverTCP returns the question names of the first query on a DNS/TCP
// stream (a two-byte length, then the message).
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

// allowedDNS checks every question: one name outside the zones refuses.
func allowedDNS(zones []string, names []string) (string, error) {
	for _, n := range names {
		if !Match(zones, n) {
			return n, RefuseDNSName
		}
	}
	return names[0], nil
}
