package rules

import (
	"net/netip"
	"slices"
	"strings"
)

// Who may hand a service out in a data-sharing agreement.
//
// A service in the services file is either shared (no owner: run for the
// whole PSN, like its resolvers, or by a third party, like the NHS spine)
// or owned (owner: ORG: hosted on that organisation's own network). An
// agreement is a data owner's consent, so an organisation may offer only
// services it owns: a shared service is granted by the PSN's own allow
// rules and no organisation can offer it, so two councils cannot hand each
// other the spine. An owned service's destinations must lie in its owner's
// registered prefixes, the addresses it answers for at the boundary, so
// that an owner: line cannot claim someone else's hosts.

// ownedService is a service's owner as written, with the positions the
// checks point back at.
type ownedService struct {
	owner orgRef
	to    []Pos // parallel to the service's To
}

// checkOwners reports an owner that is no organisation, and an owned
// service reaching outside its owner's prefixes.
func (l *loader) checkOwners() {
	if l.services == nil {
		return
	}
	for name, o := range l.services.owned {
		src := l.orgByID[o.owner.id]
		if src == nil {
			l.f.errorf(o.owner.pos, "service %q has unknown owner %q; an owner is the organisation hosting the service (a service run for the whole PSN has none)", name, o.owner.id)
			continue
		}
		svc := l.services.services[name]
		for i, p := range svc.To {
			if !slices.ContainsFunc(src.org.Prefixes, func(q netip.Prefix) bool { return covers(q, p) }) {
				l.f.errorf(o.to[i], "service %q is owned by %s, but %s is not in its prefixes (%s); an organisation owns only services on its own network",
					name, src.org.ID, p, prefixWords(src.org.Prefixes))
			}
		}
	}
}

// ownerOf returns the organisation that owns the service, "" for a shared one.
func (l *loader) ownerOf(service string) string {
	if svc := l.serviceNamed(service); svc != nil {
		return svc.Owner
	}
	return ""
}

// checkOffers reports the services of ag that src may not offer: unknown
// ones, shared ones and others' ones. False means some were.
func (l *loader) checkOffers(src *orgSource, ag Agreement) bool {
	ok := true
	for i, s := range ag.Offers {
		switch owner := l.ownerOf(s); {
		case l.serviceNamed(s) == nil:
			l.f.errorf(ag.offers[i], "agreement %q offers unknown service %q", ag.ID, s)
		case owner == "":
			l.f.errorf(ag.offers[i], "agreement %q offers service %q, which has no owner: a shared service is granted by allow rules, never offered; an organisation may offer only services it owns", ag.ID, s)
		case owner != src.org.ID:
			l.f.errorf(ag.offers[i], "agreement %q offers service %q, which %s owns, not %s; an organisation may offer only services it owns", ag.ID, s, owner, src.org.ID)
		default:
			continue
		}
		ok = false
	}
	return ok
}

func prefixWords(ps []netip.Prefix) string {
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = p.String()
	}
	return strings.Join(words, ", ")
}
