package rules

import "slices"

// finish runs the checks that need every file, and builds the Policy.
func (l *loader) finish() (*Policy, error) {
	l.resolveServices()
	l.checkOwners()
	until := l.expandAgreements(l.now)
	l.checkRemediation()
	l.checkPrefixOverlap()
	l.checkInnerTags()
	l.checkInspectable()
	if len(l.f.errs) > 0 {
		return nil, ErrorList(sorted(l.f.errs))
	}
	l.warnShadowed()
	l.warnOwnPrefixes()
	l.warnSharedIngress()
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
