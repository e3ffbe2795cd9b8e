package rules

import (
	"slices"

	"gopkg.in/yaml.v3"
)

// rulePorts works out what a to: rule allows from its proto and ports.
// The protocol is written once — as proto:, or with every port ("443/tcp")
// — never both, so that a rule cannot say two different things.
func (d *decoder) rulePorts(f map[string]entry, rule *yaml.Node) []PortRange {
	protoE, hasProto := f["proto"]
	portsE, hasPorts := f["ports"]
	proto, protoOK := "", false
	if hasProto {
		proto, protoOK = d.protoName(protoE.val)
	}
	if !hasPorts {
		if !hasProto {
			d.errorf(rule, "missing required field \"proto\"; want tcp, udp, icmp or any")
		}
		return protoPorts(proto)
	}
	items, ok := d.nonEmptyList(portsE, "ports", "omit it to allow all ports")
	if !ok {
		return nil
	}
	specs := d.portSpecs(items)
	if slices.ContainsFunc(specs, func(s portSpec) bool { return s.named }) {
		return d.namedPorts(specs, protoE, hasProto)
	}
	switch {
	case !hasProto:
		for _, s := range specs {
			d.errorf(s.node, "port %s has no protocol; set proto: or write \"%s/tcp\"", s.text(), s.text())
		}
		return nil
	case !protoOK:
		return nil
	case proto == "icmp" || proto == "any":
		d.errorf(portsE.key, "ports must be omitted for proto %s", proto)
		return nil
	}
	out := make([]PortRange, len(specs))
	for i, s := range specs {
		out[i] = PortRange{Proto: protoPorts(proto)[0].Proto, Lo: s.Lo, Hi: s.Hi}
	}
	return normalPorts(out)
}

// namedPorts is rulePorts for a list in which ports carry their protocol.
func (d *decoder) namedPorts(specs []portSpec, protoE entry, hasProto bool) []PortRange {
	if hasProto {
		d.errorf(protoE.key, "proto must be omitted when the ports name their protocol, as in \"443/tcp\"")
	}
	var out []PortRange
	for _, s := range specs {
		if !s.named {
			d.errorf(s.node, "port %s has no protocol; write \"%s/tcp\" like the other ports in this list", s.text(), s.text())
			continue
		}
		out = append(out, s.PortRange)
	}
	return normalPorts(out)
}

func (d *decoder) protoName(n *yaml.Node) (string, bool) {
	s, ok := d.str(n, "proto")
	if !ok {
		return "", false
	}
	switch s {
	case "tcp", "udp", "icmp", "any":
		return s, true
	}
	d.errorf(resolve(n), "unknown proto %q; want tcp, udp, icmp or any", s)
	return "", false
}

// protoPorts is what a proto allows when no ports are given: every port,
// or echo for icmp. "any" is all three, so it never means a fourth thing.
func protoPorts(proto string) []PortRange {
	switch proto {
	case "tcp":
		return []PortRange{allPorts(ProtoTCP)}
	case "udp":
		return []PortRange{allPorts(ProtoUDP)}
	case "icmp":
		return []PortRange{{Proto: ProtoICMP}}
	case "any":
		return []PortRange{{Proto: ProtoICMP}, allPorts(ProtoTCP), allPorts(ProtoUDP)}
	}
	return nil
}
