package rules

import (
	"strings"
	"testing"
)

// Each class of problem is reported once, at the node that is wrong, with
// the exact text an operator sees.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "unknown field in organisation",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
contact: noc@a.example
`},
			want: []string{`org.yaml:5:1: unknown field "contact" in organisation; allowed: organisation, name, state, certificate, ingress, prefixes, prefixes_shared_with, allow, agreements, limits`},
		},
		{
			name: "flow limit out of range",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
limits: {flows: 0}
`},
			want: []string{`org.yaml:5:17: limits.flows 0: want 1 to 67108864 flows`},
		},
		{
			name: "unknown limit",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
limits:
  flows: 100
  bandwidth: 10
`},
			want: []string{`org.yaml:7:3: unknown field "bandwidth" in limits; allowed: flows, fragments, inspected_flows, new_flows_per_second, packets_per_second, bytes_per_second`},
		},
		{
			name: "rate limit out of range",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
limits: {packets_per_second: -1}
`},
			want: []string{`org.yaml:5:30: limits.packets_per_second -1: want 1 to 12500000000`},
		},
		{
			name: "misspelt rule field",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - to: [198.19.40.0/24]
    proto: tcp
    port: 443
`},
			want: []string{`org.yaml:8:5: unknown field "port" in rule (did you mean "ports"?); allowed: id, service, to, proto, ports, inspect`},
		},
		{
			name: "mapping where a list is expected",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress:
  interface: org0
prefixes: [198.18.1.0/24]
`},
			want: []string{`org.yaml:4:3: ingress must be a list, not a mapping`},
		},
		{
			name: "scalar where a mapping is expected",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: web
    inspect: yes
`},
			want: []string{`org.yaml:7:14: inspect must be a mapping, not a string`},
		},
		{
			name: "bad prefix",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24, 198.18.300.0/24, 198.18.9.9]
`},
			want: []string{
				`org.yaml:4:27: invalid prefix "198.18.300.0/24"; want address/length, like 198.18.1.0/24`,
				`org.yaml:4:44: prefix 198.18.9.9 has no length; write 198.18.9.9/32`,
			},
		},
		{
			name: "prefix with host bits set",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes:
  - 198.18.1.1/24
  - 2001:db8:1::1/48
`},
			want: []string{
				`org.yaml:5:5: prefix 198.18.1.1/24 has host bits set; did you mean 198.18.1.0/24?`,
				`org.yaml:6:5: prefix 2001:db8:1::1/48 has host bits set; did you mean 2001:db8:1::/48?`,
			},
		},
		{
			name: "ports out of range and reversed",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - to: [198.19.40.0/24]
    proto: tcp
    ports: [0, 70000, "8080-8000", "1-65536", "http"]
`},
			want: []string{
				`org.yaml:8:13: port 0 out of range 1-65535`,
				`org.yaml:8:16: port 70000 out of range 1-65535`,
				`org.yaml:8:23: port range "8080-8000" has lo > hi`,
				`org.yaml:8:36: port 65536 out of range 1-65535`,
				`org.yaml:8:47: invalid port "http"; want 443, "8000-8080", "443/tcp" or "icmp"`,
			},
		},
		{
			name: "bad proto",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - to: [198.19.40.0/24]
    proto: sctp
`},
			want: []string{`org.yaml:7:12: unknown proto "sctp"; want tcp, udp, icmp or any`},
		},
		{
			name: "ports with icmp",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - to: [198.19.40.0/24]
    proto: icmp
    ports: [8]
`},
			want: []string{`org.yaml:8:5: ports must be omitted for proto icmp`},
		},
		{
			name: "both service and to, and neither",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: web
    to: [198.19.40.0/24]
  - id: nothing
    proto: tcp
`},
			want: []string{
				`org.yaml:7:5: rule has both service and to; name a service or list destinations, not both`,
				`org.yaml:8:5: rule needs either service or to`,
			},
		},
		{
			name: "unknown service in a rule and in remediation",
			files: map[string]string{
				"services.yaml": `services:
  web:
    to: [198.19.40.0/24]
    ports: ["443/tcp"]
remediation: [web, patch-mirror]
`,
				"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: wbe
`},
			want: []string{
				`org.yaml:6:14: unknown service "wbe"`,
				`services.yaml:5:20: unknown service "patch-mirror"`,
			},
		},
		{
			name: "service rule with its own ports",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: web
    proto: tcp
    ports: [80]
`},
			want: []string{
				`org.yaml:7:5: proto comes from service "web"; remove it`,
				`org.yaml:8:5: ports come from service "web"; remove them`,
			},
		},
		{
			name: "duplicate rule ids, written and derived",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - id: web
    to: [198.19.41.0/24]
    proto: tcp
  - service: web
  - service: dns
  - service: dns
`},
			want: []string{
				`org.yaml:9:5: duplicate rule id "web" (first at line 6); a rule without id: is named by what it allows, so give one of them an id`,
				`org.yaml:11:5: duplicate rule id "dns" (first at line 10); a rule without id: is named by what it allows, so give one of them an id`,
			},
		},
		{
			name: "duplicate organisation across files",
			files: map[string]string{
				"a.yaml": "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\n",
				"b.yaml": "# copied by mistake\norganisation: a\nname: A again\ningress: [{interface: org1}]\nprefixes: [198.18.2.0/24]\n",
			},
			want: []string{`b.yaml:2:15: duplicate organisation "a"; first defined at DIR/a.yaml:1:1`},
		},
		{
			name: "duplicate service, and a second services file",
			files: map[string]string{
				"services.yaml": `services:
  web:
    to: [198.19.40.0/24]
    ports: ["443/tcp"]
  web:
    to: [198.19.41.0/24]
    ports: ["80/tcp"]
`,
				"z/more-services.yaml": "services:\n  dns:\n    to: [198.19.20.53/32]\n    ports: [\"53/udp\"]\n",
			},
			want: []string{
				`services.yaml:5:3: duplicate key "web" in services (first at line 2)`,
				`z/more-services.yaml:1:1: services already defined in DIR/services.yaml:1:1; keep every service in one file`,
			},
		},
		{
			name: "no ingress and no prefixes",
			files: map[string]string{
				"a.yaml": "organisation: a\nname: A\n",
				"b.yaml": "organisation: b\nname: B\ningress: []\nprefixes: []\n",
			},
			want: []string{
				`a.yaml:1:1: missing required field "ingress"`,
				`a.yaml:1:1: missing required field "prefixes"`,
				`b.yaml:3:1: ingress is empty; an organisation needs at least one`,
				`b.yaml:4:1: prefixes is empty; an organisation needs at least one`,
			},
		},
		{
			name: "vlan out of range, bad interface name, bad state",
			files: map[string]string{"org.yaml": `organisation: a
name: A
state: red
ingress:
  - interface: org0
    vlan: 4095
  - interface: eth0/1
  - interface: a-very-long-ifname
  - interface: org2
    vlan: "300"
prefixes: [198.18.1.0/24]
`},
			want: []string{
				`org.yaml:3:8: unknown state "red"; want active or suspended`,
				`org.yaml:6:11: vlan 4095 out of range 1-4094`,
				`org.yaml:7:16: invalid interface name "eth0/1"; want 1-15 characters without '/', ':' or whitespace`,
				`org.yaml:8:16: invalid interface name "a-very-long-ifname"; want 1-15 characters without '/', ':' or whitespace`,
				`org.yaml:10:11: vlan must be an integer, not a string`,
			},
		},
		{
			name: "malformed inspect names",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: web
    inspect:
      tls_sni: ["*.partner.example", "a.*.example", "Partner.example"]
      http_host: ["**.example", "-a.example", "*."]
      fail: sometimes
`},
			want: []string{
				`org.yaml:8:38: invalid name "a.*.example" in tls_sni; want lowercase DNS labels, optionally after a leading "*."`,
				`org.yaml:8:53: invalid name "Partner.example" in tls_sni; want lowercase DNS labels, optionally after a leading "*."`,
				`org.yaml:9:19: invalid name "**.example" in http_host; want lowercase DNS labels, optionally after a leading "*."`,
				`org.yaml:9:33: invalid name "-a.example" in http_host; want lowercase DNS labels, optionally after a leading "*."`,
				`org.yaml:9:47: invalid name "*." in http_host; want lowercase DNS labels, optionally after a leading "*."`,
				`org.yaml:10:13: unknown fail mode "sometimes"; want closed or open`,
			},
		},
		{
			name: "inspect without names, and on icmp",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - service: web
    inspect: {fail: open}
  - to: [198.19.41.0/24]
    proto: icmp
    inspect: {dns: [a.example]}
`},
			want: []string{
				`org.yaml:7:14: inspect needs names in at least one of tls_sni, http_host or dns`,
				`org.yaml:10:5: inspect needs tcp or udp traffic; rule "r-a0a3172c" allows only icmp`,
			},
		},
		{
			name: "prefixes overlapping on one ingress",
			files: map[string]string{
				"a.yaml": "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.0.0/16]\n",
				"b.yaml": "organisation: b\nname: B\ningress: [{interface: org0}]\nprefixes: [198.18.2.0/24, 2001:db8:2::/48]\n",
			},
			want: []string{`b.yaml:4:12: prefix 198.18.2.0/24 of organisation "b" overlaps 198.18.0.0/16 of organisation "a" (DIR/a.yaml:4:12) on ingress org0, where only the source address tells them apart`},
		},
		{
			name: "same prefix twice in one organisation",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes:
  - 198.18.1.0/24
  - 2001:db8:1::/48
  - 198.18.1.0/24
`},
			want: []string{`org.yaml:7:5: prefix 198.18.1.0/24 listed twice (first at line 5)`},
		},
		{
			name: "duplicate key in a mapping",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0, interface: org1}]
prefixes: [198.18.1.0/24]
name: B
`},
			want: []string{
				`org.yaml:3:29: duplicate key "interface" in ingress (first at line 3)`,
				`org.yaml:5:1: duplicate key "name" in organisation (first at line 2)`,
			},
		},
		{
			name: "YAML syntax error",
			files: map[string]string{"org.yaml": `organisation: a
name: A
  ingress: x
`},
			want: []string{`org.yaml:3:1: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "neither organisation nor services",
			files: map[string]string{
				"notes.yaml": "# just notes\nowner: security-team\n",
				"empty.yml":  "",
				"list.yaml":  "- organisation: a\n",
			},
			want: []string{
				`empty.yml:1:1: not an organisation or services file`,
				`list.yaml:1:1: not an organisation or services file`,
				`notes.yaml:1:1: not an organisation or services file`,
			},
		},
		{
			name: "two documents in one file",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
---
organisation: b
`},
			want: []string{`org.yaml:6:1: a policy file holds one YAML document; split this one into files`},
		},
		{
			name: "service ports need a protocol",
			files: map[string]string{"services.yaml": `services:
  web:
    to: [198.19.40.0/24]
    ports: [443, "8000-8080", "53/icmp"]
    proto: tcp
`},
			want: []string{
				`services.yaml:4:13: port 443 has no protocol; write "443/tcp" or "443/udp"`,
				`services.yaml:4:18: port 8000-8080 has no protocol; write "8000-8080/tcp" or "8000-8080/udp"`,
				`services.yaml:4:31: unknown protocol "icmp" in "53/icmp"; want tcp or udp (write icmp alone for ICMP echo)`,
				`services.yaml:5:5: unknown field "proto" in service; allowed: description, owner, to, ports`,
			},
		},
		{
			name: "protocol written twice, or not at all",
			files: map[string]string{"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: [198.18.1.0/24]
allow:
  - to: [198.19.41.0/24]
    proto: tcp
    ports: ["443/tcp"]
  - to: [198.19.42.0/24]
    ports: ["443/tcp", 8443]
  - to: [198.19.43.0/24]
    ports: [443]
  - to: [198.19.44.0/24]
`},
			want: []string{
				`org.yaml:7:5: proto must be omitted when the ports name their protocol, as in "443/tcp"`,
				`org.yaml:10:24: port 8443 has no protocol; write "8443/tcp" like the other ports in this list`,
				`org.yaml:12:13: port 443 has no protocol; set proto: or write "443/tcp"`,
				`org.yaml:13:5: missing required field "proto"; want tcp, udp, icmp or any`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files
			if _, ok := files["services.yaml"]; !ok {
				files["services.yaml"] = testServices
			}
			dir := writePolicy(t, files)
			got := loadErrorsIn(t, dir)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "DIR", dir)
			}
			equalLines(t, got, want)
		})
	}
}
