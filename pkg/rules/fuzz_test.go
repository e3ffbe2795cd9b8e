package rules

import (
	"errors"
	"testing"
)

// FuzzLoad feeds one organisation-or-services file, beside a fixed services
// file, through the whole loader. Whatever the bytes, Load must not panic,
// must return a policy or an ErrorList (never both, never neither), and
// every error must carry a position inside the file.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"organisation: a\nname: A\ningress: [{interface: org0, vlan: 7}]\nprefixes: [198.18.1.0/24]\n" +
			"allow:\n  - service: web\n  - {id: x, to: [198.19.41.0/24], proto: tcp, ports: [443, \"8000-8080\"], inspect: {tls_sni: [\"*.a.example\"]}}\n",
		"organisation: a\nname: A\ningress: &i [*i]\nprefixes: &p [*p]\nallow: [{to: *p}]\n",
		"organisation: a\nname: A\ningress: [{interface: org1, vlan: 100, inner_vlan: 200}, {interface: org1, vlan: 100}, {interface: org1, inner_vlan: 0}]\nprefixes: [198.18.1.0/24]\n",
		"organisation: a\n<<: {name: A}\nname: A\n",
		"organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.19.0.0/16]\nprefixes_shared_with: [a, b, b, [c], ~]\n",
		"services:\n  s:\n    to: [2001:db8::/32]\n    ports: [icmp, \"1-65535/udp\"]\nremediation: [s, s, x]\n",
		"organisation: [a]\nname: {a: b}\nstate: 1\ningress: [[], 1, {vlan: 99999999999999999999}]\nprefixes: [1, ::ffff:1.2.3.4/128, 1.2.3.4%eth0/32]\n",
		"allow:\n  - to: [198.19.40.0/24]\n    ports: [\"65535-1/tcp\", 0x1bb, 1e3, -1, true, null]\norganisation: x\n",
		"organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\n" +
			"agreements:\n  - {id: s, with: b, expires: 2027-01-01, offers: [web, dns, web, ~]}\n",
		"services:\n  s:\n    owner: a\n    to: [198.18.1.0/25]\n    ports: [\"443/tcp\"]\n  t: {owner: [a], to: [198.18.1.0/24], ports: [icmp]}\n",
		"---\n---\n",
		"organisation: a\n  bad: indent\n",
		"{? [a]: b}",
		"\t",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		l := newLoader("fuzz")
		l.addFile("fuzz/services.yaml", []byte(testServices))
		l.addFile("fuzz/x.yaml", []byte(content))
		p, err := l.finish()
		if (p == nil) == (err == nil) {
			t.Fatalf("policy %v and error %v", p, err)
		}
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("error %T, want ErrorList", err)
		}
		for _, e := range list {
			if e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Errorf("error without a position or message: %q", e.Error())
			}
		}
	})
}
