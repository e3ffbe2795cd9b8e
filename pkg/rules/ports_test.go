package rules

import "testing"

func TestParsePortText(t *testing.T) {
	tests := []struct {
		in      string
		want    PortRange
		named   bool
		wantErr string
	}{
		{in: "443", want: PortRange{0, 443, 443}},
		{in: "8000-8080", want: PortRange{0, 8000, 8080}},
		{in: "443/tcp", want: PortRange{ProtoTCP, 443, 443}, named: true},
		{in: "5000-5010/udp", want: PortRange{ProtoUDP, 5000, 5010}, named: true},
		{in: "1-65535/tcp", want: PortRange{ProtoTCP, 1, 65535}, named: true},
		{in: "icmp", want: PortRange{Proto: ProtoICMP}, named: true},
		{in: "0", wantErr: "port 0 out of range 1-65535"},
		{in: "65536/udp", wantErr: "port 65536 out of range 1-65535"},
		{in: "99999999999999999999", wantErr: "port 99999999999999999999 out of range 1-65535"},
		{in: "80-79", wantErr: `port range "80-79" has lo > hi`},
		{in: "443/sctp", wantErr: `unknown protocol "sctp" in "443/sctp"; want tcp or udp (write icmp alone for ICMP echo)`},
		{in: "443/", wantErr: `unknown protocol "" in "443/"; want tcp or udp (write icmp alone for ICMP echo)`},
		{in: "-443", wantErr: `invalid port "-443"; want 443, "8000-8080", "443/tcp" or "icmp"`},
		{in: "1-2-3", wantErr: `invalid port "1-2-3"; want 443, "8000-8080", "443/tcp" or "icmp"`},
		{in: " 443", wantErr: `invalid port " 443"; want 443, "8000-8080", "443/tcp" or "icmp"`},
		{in: "ICMP", wantErr: `invalid port "ICMP"; want 443, "8000-8080", "443/tcp" or "icmp"`},
	}
	for _, tt := range tests {
		got, err := parsePortText(tt.in)
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case got.PortRange != tt.want || got.named != tt.named:
			t.Errorf("%q = %+v named=%v, want %+v named=%v", tt.in, got.PortRange, got.named, tt.want, tt.named)
		}
	}
}

func TestPortRangeString(t *testing.T) {
	tests := map[PortRange]string{
		{ProtoTCP, 443, 443}:   "443/tcp",
		{ProtoUDP, 5000, 5010}: "5000-5010/udp",
		{Proto: ProtoICMP}:     "icmp",
	}
	for r, want := range tests {
		if got := r.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", r, got, want)
		}
	}
}

func TestValidHostPattern(t *testing.T) {
	tests := map[string]bool{
		"partner.example":   true,
		"*.partner.example": true,
		"a":                 true,
		"xn--bcher-kva.de":  true,
		"*":                 false,
		"*.":                false,
		"a.*.example":       false,
		"*a.example":        false,
		"Partner.example":   false,
		"a..example":        false,
		"a.example.":        false,
		"-a.example":        false,
		"a-.example":        false,
		"a_b.example":       false,
		"":                  false,
	}
	for in, want := range tests {
		if got := validHostPattern(in); got != want {
			t.Errorf("validHostPattern(%q) = %v, want %v", in, got, want)
		}
	}
}
