package rules

import (
	"strings"
	"testing"
)

func TestParseFlow(t *testing.T) {
	cases := []struct {
		from, to, want, err string
	}{
		{"198.18.1.10@org0", "198.19.10.10:443/tcp", "198.18.1.10@org0 -> 198.19.10.10:443/tcp", ""},
		{"198.18.4.10@org1.300", "198.19.11.10:2575/tcp", "198.18.4.10@org1.300 -> 198.19.11.10:2575/tcp", ""},
		{"2001:db8:1::10", "[2001:db8:10::10]:53/udp", "2001:db8:1::10 -> [2001:db8:10::10]:53/udp", ""},
		{"198.18.1.10", "198.19.10.10/icmp", "198.18.1.10 -> 198.19.10.10/icmp", ""},
		{"2001:db8:1::10@org0", "2001:db8:10::10/icmp", "2001:db8:1::10@org0 -> 2001:db8:10::10/icmp", ""},
		{"198.18.1.10@org0", "198.19.10.10:443", "", "want DST:PORT/tcp"},
		{"198.18.1.10@org0", "198.19.10.10:443/sctp", "", `unknown protocol "sctp"`},
		{"198.18.1.10@org0", "198.19.10.10:0/tcp", "", "port 1-65535"},
		{"198.18.1.10@org1.5000", "198.19.10.10:443/tcp", "", "out of range 1-4094"},
		{"198.18.6.10@org1.400.10", "198.19.10.10:443/tcp", "198.18.6.10@org1.400.10 -> 198.19.10.10:443/tcp", ""},
		{"2001:db8:6::10@org1.400.4094", "[2001:db8:10::10]:443/tcp", "2001:db8:6::10@org1.400.4094 -> [2001:db8:10::10]:443/tcp", ""},
		{"198.18.6.10@org1.400.0", "198.19.10.10:443/tcp", "", `vlan "0" out of range 1-4094`},
		{"198.18.6.10@org1.400.4095", "198.19.10.10:443/tcp", "", `vlan "4095" out of range 1-4094`},
		{"198.18.6.10@org1.400.10.5", "198.19.10.10:443/tcp", "", `vlan "10.5" out of range 1-4094`},
		{"198.18.6.10@org1..10", "198.19.10.10:443/tcp", "", `vlan "" out of range 1-4094`},
		{"198.18.1.0/24", "198.19.10.10:443/tcp", "", "want an address"},
		{"198.18.1.10", "[2001:db8:10::10]:443/tcp", "", "different IP families"},
	}
	for _, tc := range cases {
		f, err := ParseFlow(tc.from, tc.to)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s %s: error %v, want %q", tc.from, tc.to, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s %s: %v", tc.from, tc.to, err)
		case tc.err == "" && f.String() != tc.want:
			t.Errorf("%s %s: got %s, want %s", tc.from, tc.to, f, tc.want)
		}
	}
}

func TestTestsFile(t *testing.T) {
	org := "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\nallow: [{service: web}]\n"
	dir := writePolicy(t, map[string]string{
		"services.yaml": testServices,
		"a.yaml":        org,
		"tests.yaml": "tests:\n" +
			"  - {from: 198.18.1.10@org0, to: 198.19.40.1:443/tcp, expect: allow, rule: a/web}\n" +
			"  - {from: 198.18.1.10, to: 198.19.40.1:22/tcp, expect: deny}\n",
	})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tests) != 2 || p.Tests[0].Rule != "a/web" || p.Tests[1].Expect != "deny" || p.Tests[1].Pos.Line != 3 {
		t.Fatalf("tests = %+v", p.Tests)
	}
}

func TestTestsFileErrors(t *testing.T) {
	org := "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\n"
	dir := writePolicy(t, map[string]string{
		"services.yaml": testServices,
		"a.yaml":        org,
		"tests.yaml": "tests:\n" +
			"  - {from: 198.18.1.10@org0, to: 198.19.40.1:443/tcp, expect: maybe}\n" +
			"  - {from: nowhere, to: 198.19.40.1:443/tcp, expect: allow}\n" +
			"  - {from: 198.18.1.10, to: 198.19.40.1/gre, expect: allow}\n" +
			"  - {from: 198.18.1.10, expect: allow, expct: deny}\n",
	})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("broken tests file accepted")
	}
	got := strings.ReplaceAll(err.Error(), dir+"/", "")
	for _, want := range []string{
		`tests.yaml:2:63: expect "maybe": want allow, deny or inspect`,
		`tests.yaml:3:12: from "nowhere"`,
		`tests.yaml:4:29: to "198.19.40.1/gre": unknown protocol "gre"`,
		`tests.yaml:5:40: unknown field "expct" in test case (did you mean "expect"?)`,
		`tests.yaml:5:5: missing required field "to"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
