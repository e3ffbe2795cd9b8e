package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// allPorts is what a tcp or udp rule without ports allows.
func allPorts(p Proto) PortRange { return PortRange{Proto: p, Lo: 1, Hi: 65535} }

// portSpec is one item of a ports list as written.
type portSpec struct {
	PortRange
	named bool // the protocol was written with it: "443/tcp" or "icmp"
	node  *yaml.Node
}

// text is the port part as written, for messages that suggest a fix.
func (s portSpec) text() string {
	if s.Lo == s.Hi {
		return strconv.Itoa(int(s.Lo))
	}
	return fmt.Sprintf("%d-%d", s.Lo, s.Hi)
}

// portSpecs decodes the items of a ports list, reporting each bad one.
func (d *decoder) portSpecs(items []*yaml.Node) []portSpec {
	var out []portSpec
	for _, it := range items {
		s, err := parsePortNode(it)
		if err != nil {
			d.errorf(it, "%v", err)
			continue
		}
		out = append(out, s)
	}
	return out
}

// parsePortNode reads an integer port or a port string.
func parsePortNode(n *yaml.Node) (portSpec, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int64
		if err := n.Decode(&v); err != nil || v < 1 || v > 65535 {
			return portSpec{}, fmt.Errorf("port %s out of range 1-65535", n.Value)
		}
		return portSpec{PortRange: PortRange{Lo: uint16(v), Hi: uint16(v)}, node: n}, nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return portSpec{}, fmt.Errorf("port must be a number or a string, not %s", describe(n))
	}
	s, err := parsePortText(n.Value)
	s.node = n
	return s, err
}

// parsePortText reads "443", "8000-8080", "443/tcp", "5000-5010/udp" or "icmp".
func parsePortText(s string) (portSpec, error) {
	if s == "icmp" {
		return portSpec{PortRange: PortRange{Proto: ProtoICMP}, named: true}, nil
	}
	var out portSpec
	num, proto, named := strings.Cut(s, "/")
	if named {
		switch proto {
		case "tcp":
			out.Proto = ProtoTCP
		case "udp":
			out.Proto = ProtoUDP
		default:
			return out, fmt.Errorf("unknown protocol %q in %q; want tcp or udp (write icmp alone for ICMP echo)", proto, s)
		}
	}
	out.named = named
	lo, hi, isRange := strings.Cut(num, "-")
	if !isRange {
		hi = lo
	}
	l, err := parsePortNumber(lo, s)
	if err != nil {
		return out, err
	}
	h, err := parsePortNumber(hi, s)
	if err != nil {
		return out, err
	}
	if l > h {
		return out, fmt.Errorf("port range %q has lo > hi", s)
	}
	out.Lo, out.Hi = l, h
	return out, nil
}

func parsePortNumber(s, whole string) (uint16, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid port %q; want 443, \"8000-8080\", \"443/tcp\" or \"icmp\"", whole)
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v < 1 || v > 65535 {
		return 0, fmt.Errorf("port %s out of range 1-65535", s)
	}
	return uint16(v), nil
}

func comparePorts(a, b PortRange) int {
	return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Lo, b.Lo), cmp.Compare(a.Hi, b.Hi))
}

// normalPorts sorts ports and drops repeats, so that equal rules compare
// and hash equal however their ports were ordered.
func normalPorts(ps []PortRange) []PortRange {
	slices.SortFunc(ps, comparePorts)
	return slices.Compact(ps)
}

// mergedPorts joins overlapping and adjacent ranges of a sorted list, so
// that "is this range covered" is a question about one range.
func mergedPorts(ps []PortRange) []PortRange {
	var out []PortRange
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Proto == p.Proto && int(out[n-1].Hi)+1 >= int(p.Lo) {
			out[n-1].Hi = max(out[n-1].Hi, p.Hi)
			continue
		}
		out = append(out, p)
	}
	return out
}
