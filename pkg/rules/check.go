package rules

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// finish runs the checks that need every file, and builds the Policy.
func (l *loader) finish() (*Policy, error) {
	l.resolveServices()
	until := l.expandAgreements(l.now)
	l.checkRemediation()
	l.checkIngressOverlap()
	l.checkInspectable()
	if len(l.f.errs) > 0 {
		return nil, ErrorList(sorted(l.f.errs))
	}
	l.warnShadowed()
	l.warnOwnPrefixes()
	p := &Policy{
		Dir:      l.dir,
		Services: map[string]*Service{},
		Orgs:     l.orgsByID(),
		Warnings: sorted(l.f.warns),
		Tests:    l.tests,
	}
	p.AgreementsUntil = until
	if l.services != nil {
		p.Services = l.services.services
		for _, n := range l.services.remediation {
			p.Remediation = append(p.Remediation, n.Value)
		}
	}
	return p, nil
}

func (l *loader) serviceNamed(name string) *Service {
	if l.services == nil {
		return nil
	}
	return l.services.services[name]
}

// resolveServices fills service rules in from their services. Each rule
// gets its own copy, so that compiling one organisation cannot change
// another's rules.
func (l *loader) resolveServices() {
	for _, src := range l.orgs {
		for i := range src.org.Allow {
			r := &src.org.Allow[i]
			if r.Service == "" {
				continue
			}
			svc := l.serviceNamed(r.Service)
			if svc == nil {
				l.f.errorf(src.rules[i].service, "unknown service %q", r.Service)
				continue
			}
			r.To, r.Ports = slices.Clone(svc.To), slices.Clone(svc.Ports)
		}
	}
}

func (l *loader) checkRemediation() {
	if l.services == nil {
		return
	}
	d := &decoder{file: l.services.at.File, f: &l.f}
	for _, n := range l.services.remediation {
		if l.serviceNamed(n.Value) == nil {
			d.errorf(n, "unknown service %q", n.Value)
		}
	}
}

// checkInspectable refuses inspect on a rule that allows only ICMP: the
// inspector reads names from TCP and UDP payloads, so it could never allow.
func (l *loader) checkInspectable() {
	for _, src := range l.orgs {
		for i, r := range src.org.Allow {
			if r.Inspect == nil || len(r.Ports) == 0 {
				continue
			}
			if !slices.ContainsFunc(r.Ports, func(p PortRange) bool { return p.Proto != ProtoICMP }) {
				l.f.errorf(src.rules[i].inspect, "inspect needs tcp or udp traffic; rule %q allows only icmp", r.ID)
			}
		}
	}
}

// checkIngressOverlap refuses two organisations on one ingress whose
// prefixes overlap: a packet's organisation is found from its ingress and
// source address, so an overlap would make the answer depend on map order.
// The later organisation, in file order, is the one reported.
func (l *loader) checkIngressOverlap() {
	type claim struct {
		src *orgSource
		i   int // index into src.org.Prefixes
	}
	claims := map[ingressKey][]claim{}
	for _, src := range l.orgs {
		reported := map[[2]claim]bool{} // a pair is named once, however many ingresses it shares
		for _, k := range ingressKeys(src.org) {
			for i, p := range src.org.Prefixes {
				for _, c := range claims[k] {
					q, pair := c.src.org.Prefixes[c.i], [2]claim{{src, i}, c}
					if !p.Overlaps(q) || reported[pair] {
						continue
					}
					reported[pair] = true
					l.f.errorf(src.prefixes[i], "prefix %s overlaps %s of organisation %q (%s) on ingress %s",
						p, q, c.src.org.ID, c.src.prefixes[c.i], k)
				}
			}
		}
		for _, k := range ingressKeys(src.org) {
			for i := range src.org.Prefixes {
				claims[k] = append(claims[k], claim{src, i})
			}
		}
	}
}

func ingressKeys(o *Organisation) []ingressKey {
	set := map[ingressKey]bool{}
	for _, in := range o.Ingress {
		set[ingressKey{in.Interface, in.VLAN}] = true
	}
	return slices.SortedFunc(maps.Keys(set), func(a, b ingressKey) int {
		return cmp.Or(strings.Compare(a.ifname, b.ifname), cmp.Compare(a.vlan, b.vlan))
	})
}
