package rules

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Agreement is one party's declaration of a data-sharing agreement with
// another organisation: the services it opens to that party, and until
// when. An agreement is in force only while both parties declare it (same
// id, each naming the other) and neither declaration has expired; then
// each party's offered services become rules of the other party, with id
// "AGREEMENT.SERVICE". Revoking it on either side stops the flows.
type Agreement struct {
	ID      string
	With    string    // the other party
	Expires time.Time // first instant it no longer holds
	Offers  []string  // services this party opens to the other
	Pos     Pos       // the agreement's first key
	offers  []Pos
	with    Pos
}

var agreementFields = []string{"id", "with", "expires", "offers"}

func (d *decoder) agreements(e entry) []Agreement {
	items, ok := d.list(e.val, "agreements")
	if !ok {
		return nil
	}
	var out []Agreement
	first := map[string]int{}
	for _, it := range items {
		ag, ok := d.agreement(it)
		if !ok {
			continue
		}
		if line, dup := first[ag.ID]; dup {
			d.errorf(it, "agreement %q declared twice (first at line %d)", ag.ID, line)
			continue
		}
		first[ag.ID] = it.Line
		out = append(out, ag)
	}
	return out
}

func (d *decoder) agreement(n *yaml.Node) (Agreement, bool) {
	f, ok := d.fields(n, "agreement", agreementFields...)
	if !ok {
		return Agreement{}, false
	}
	ag, mark := Agreement{Pos: d.pos(n)}, d.mark()
	if s, ok := d.requiredStr(f, "id", n); ok {
		if !validRuleID(s) {
			d.errorf(resolve(f["id"].val), "invalid agreement id %q; want 1-64 characters of a-z, 0-9, '-', '_' and '.'", s)
		}
		ag.ID = s
	}
	if s, ok := d.requiredStr(f, "with", n); ok {
		ag.With, ag.with = s, d.pos(resolve(f["with"].val))
	}
	if _, ok := d.required(f, "expires", n); ok {
		if c := d.certificate(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{f["expires"].key, f["expires"].val}}); c != nil {
			ag.Expires = c.Expires
		}
	}
	if e, ok := f["offers"]; ok {
		items, _ := d.list(e.val, "offers")
		for _, it := range items {
			if s, ok := d.str(it, "offered service"); ok {
				ag.Offers, ag.offers = append(ag.Offers, s), append(ag.offers, d.pos(it))
			}
		}
	}
	return ag, d.clean(mark)
}

// expandAgreements turns every agreement in force at now into rules of the
// receiving party, and warns of those that are not in force.
func (l *loader) expandAgreements(now time.Time) time.Time {
	var until time.Time
	for _, src := range l.orgs {
		for _, ag := range src.org.Agreements {
			other := l.orgByID[ag.With]
			if !l.agreementSound(src, ag, other) {
				continue
			}
			peer := findAgreement(other.org, ag.ID, src.org.ID)
			switch {
			case peer == nil:
				l.f.warnf(ag.Pos, "agreement %q with %s is not declared by %s: no traffic flows under it", ag.ID, ag.With, ag.With)
				continue
			case !now.Before(ag.Expires) || !now.Before(peer.Expires):
				l.f.warnf(ag.Pos, "agreement %q with %s has expired: no traffic flows under it", ag.ID, ag.With)
				continue
			}
			l.grant(src, ag, other, earlier(ag.Expires, peer.Expires))
			if exp := earlier(ag.Expires, peer.Expires); until.IsZero() || exp.Before(until) {
				until = exp
			}
		}
	}
	return until
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// agreementSound reports errors in one declaration; false means skip it.
func (l *loader) agreementSound(src *orgSource, ag Agreement, other *orgSource) bool {
	ok := true
	switch {
	case ag.With == src.org.ID:
		l.f.errorf(ag.with, "agreement %q names %s itself; name the other party", ag.ID, ag.With)
		ok = false
	case other == nil:
		l.f.errorf(ag.with, "agreement %q names unknown organisation %q", ag.ID, ag.With)
		ok = false
	}
	return l.checkOffers(src, ag) && ok
}

func findAgreement(o *Organisation, id, with string) *Agreement {
	for i := range o.Agreements {
		if o.Agreements[i].ID == id && o.Agreements[i].With == with {
			return &o.Agreements[i]
		}
	}
	return nil
}

// grant gives the other party a rule per service the offering party opens.
func (l *loader) grant(from *orgSource, ag Agreement, to *orgSource, until time.Time) {
	for i, s := range ag.Offers {
		svc := l.serviceNamed(s)
		id := ag.ID + "." + s
		for _, r := range to.org.Allow {
			if r.ID == id {
				l.f.errorf(ag.offers[i], "agreement %q would give %s a rule %q, which it already has", ag.ID, to.org.ID, id)
				return
			}
		}
		r := Rule{ID: id, Service: s, To: append(svc.To[:0:0], svc.To...), Ports: append(svc.Ports[:0:0], svc.Ports...),
			Pos: ag.offers[i], Agreement: ag.ID + " with " + from.org.ID, Until: until}
		to.org.Allow = append(to.org.Allow, r)
		to.rules = append(to.rules, ruleSource{service: ag.offers[i], id: ag.offers[i]})
	}
}

// WithoutExpired returns p without the agreement rules expired at now, and
// with AgreementsUntil moved on: what the agent enforces when an agreement
// runs out, without reading the files again.
func (p *Policy) WithoutExpired(now time.Time) *Policy {
	out := *p
	out.Orgs = make([]*Organisation, len(p.Orgs))
	out.AgreementsUntil = time.Time{}
	for i, o := range p.Orgs {
		c := *o
		c.Allow = nil
		for _, r := range o.Allow {
			if r.Agreement != "" && !now.Before(r.Until) {
				continue
			}
			if r.Agreement != "" && (out.AgreementsUntil.IsZero() || r.Until.Before(out.AgreementsUntil)) {
				out.AgreementsUntil = r.Until
			}
			c.Allow = append(c.Allow, r)
		}
		out.Orgs[i] = &c
	}
	return &out
}
