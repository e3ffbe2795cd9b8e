package inspect

import (
	"bytes"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// withOPT is a query with an EDNS OPT record, as most resolvers' clients
// send it.
func withOPT(tb testing.TB, names ...string) []byte {
	tb.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 9, RecursionDesired: true})
	_ = b.StartQuestions()
	for _, n := range names {
		q := dnsmessage.Question{Name: dnsmessage.MustNewName(n), Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET}
		if err := b.Question(q); err != nil {
			tb.Fatal(err)
		}
	}
	_ = b.StartAdditionals()
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(1232, dnsmessage.RCodeSuccess, false); err != nil {
		tb.Fatal(err)
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		tb.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

func TestDNSQuestions(t *testing.T) {
	one, two := dnsQuery(t, "a.psn.example."), dnsQuery(t, "a.psn.example.", "b.psn.example.")
	claimsTwo := bytes.Clone(one)
	claimsTwo[5] = 2 // QDCOUNT 2, one question
	claimsOne := bytes.Clone(two)
	claimsOne[5] = 1 // QDCOUNT 1, two questions: the second is trailing bytes
	claimsAnswer := bytes.Clone(one)
	claimsAnswer[7] = 1 // ANCOUNT 1, no record
	cases := []struct {
		name  string
		msg   []byte
		names []string
		err   error
	}{
		{"one", one, []string{"a.psn.example."}, nil},
		{"two", two, []string{"a.psn.example.", "b.psn.example."}, nil},
		{"with EDNS", withOPT(t, "a.psn.example."), []string{"a.psn.example."}, nil},
		{"trailing byte", append(bytes.Clone(one), 0), nil, RefuseNotDNS},
		{"QDCOUNT above the questions", claimsTwo, nil, RefuseNotDNS},
		{"QDCOUNT below the questions", claimsOne, nil, RefuseNotDNS},
		{"ANCOUNT without the record", claimsAnswer, nil, RefuseNotDNS},
		{"header only", one[:12], nil, RefuseNotDNS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			names, err := DNSQuestions(c.msg)
			if !slices.Equal(names, c.names) || err != c.err {
				t.Errorf("= %q, %v; want %q, %v", names, err, c.names, c.err)
			}
		})
	}
}

func TestDNSOverTCP(t *testing.T) {
	q := dnsQuery(t, "a.psn.example.")
	longer := tcpFramed(append(bytes.Clone(q), 0, 0))
	cases := []struct {
		name  string
		b     []byte
		names []string
		err   error
	}{
		{"framed", tcpFramed(q), []string{"a.psn.example."}, nil},
		{"a second query after it is not read", append(tcpFramed(q), tcpFramed(dnsQuery(t, "evil.example."))...), []string{"a.psn.example."}, nil},
		{"length beyond the message", longer, nil, RefuseNotDNS},
		{"length beyond the message, unfinished", longer[:len(longer)-1], nil, errNeedMore},
		{"length short of the message", append([]byte{0, byte(len(q) - 1)}, q...), nil, RefuseNotDNS},
		{"length below a header", []byte{0, 11}, nil, RefuseNotDNS},
		{"one byte", []byte{0}, nil, errNeedMore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			names, err := DNSOverTCP(c.b)
			if !slices.Equal(names, c.names) || err != c.err {
				t.Errorf("= %q, %v; want %q, %v", names, err, c.names, c.err)
			}
		})
	}
}
