package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Narrowing is one organisation a boundary holds to remediation although
// its rule file does not suspend it: suspended with `palisade org suspend`,
// or its compliance certificate has lapsed. It is runtime state: in the
// state digest, never in the policy digest.
type Narrowing struct {
	Org    string    `json:"organisation"`
	Cause  string    `json:"cause"`            // CauseSuspended or CauseCertificateExpired
	Reason string    `json:"reason,omitempty"` // the operator's words, for a suspension
	By     string    `json:"by,omitempty"`     // who suspended it
	Since  time.Time `json:"since"`            // when suspended, or when the certificate expired
}

// Causes of a narrowing.
const (
	CauseSuspended          = "suspended"           // palisade org suspend
	CauseCertificateExpired = "certificate-expired" // its certificate: expires has passed
)

func (n Narrowing) String() string {
	if n.Cause == CauseCertificateExpired {
		return fmt.Sprintf("its compliance certificate expired at %s", n.Since.UTC().Format(time.RFC3339))
	}
	s := "suspended with `palisade org suspend`"
	if n.By != "" {
		s += " by " + n.By
	}
	if !n.Since.IsZero() {
		s += " at " + n.Since.UTC().Format(time.RFC3339)
	}
	if n.Reason != "" {
		s += fmt.Sprintf(" (%q)", n.Reason)
	}
	return s
}

// Narrowings is what a boundary running p narrows at now: the
// organisations in suspended (palisade org suspend; keyed by organisation),
// then those whose certificate has lapsed by now; an organisation its rule
// file suspends already is left out, as is one p does not have. Sorted by
// organisation. The agent computes every apply's narrowing with it, and
// the CLI an offline answer's.
func Narrowings(p *rules.Policy, suspended map[string]Narrowing, now time.Time) []Narrowing {
	var out []Narrowing
	for _, o := range p.Orgs {
		if o.State == rules.StateSuspended {
			continue
		}
		if n, ok := suspended[o.ID]; ok {
			n.Org, n.Cause = o.ID, CauseSuspended
			out = append(out, n)
		} else if o.Certificate.Lapsed(now) {
			out = append(out, Narrowing{Org: o.ID, Cause: CauseCertificateExpired, Since: o.Certificate.Expires})
		}
	}
	sortNarrowings(out)
	return out
}

func sortNarrowings(ns []Narrowing) {
	slices.SortFunc(ns, func(a, b Narrowing) int { return strings.Compare(a.Org, b.Org) })
}

// Narrow returns c with the organisations in ns held to remediation, and no
// others beyond those the rules suspend: the same tables with the suspended
// flags the datapath holds, so its Decide answers as the datapath does. Its
// Digest is the state digest; PolicyDigest stays c's. c may be narrowed
// already: its narrowing is replaced, not added to. A narrowing of an
// organisation c does not have, or suspends by its rules, is left out.
func (c *Compiled) Narrow(ns []Narrowing) *Compiled {
	old := map[string]bool{}
	for _, n := range c.Narrowed {
		old[n.Org] = true
	}
	want := map[string]Narrowing{}
	for _, n := range ns {
		want[n.Org] = n
	}
	out := &Compiled{Ingresses: c.Ingresses, Rulesets: c.Rulesets, Rules: c.Rules, PolicyDigest: c.PolicyDigest,
		Orgs: slices.Clone(c.Orgs), Narrowed: []Narrowing{}, ServiceSide: c.ServiceSide}
	for i := range out.Orgs {
		o := &out.Orgs[i]
		written := o.Suspended && !old[o.ID]
		n, narrowed := want[o.ID]
		o.Suspended = written || narrowed
		if narrowed && !written {
			out.Narrowed = append(out.Narrowed, n)
		}
	}
	sortNarrowings(out.Narrowed)
	out.Digest = digest(out)
	return out
}

// NarrowingOf is why org is held to remediation outside its rule file, if
// it is.
func (c *Compiled) NarrowingOf(org string) (Narrowing, bool) {
	for _, n := range c.Narrowed {
		if n.Org == org {
			return n, true
		}
	}
	return Narrowing{}, false
}

// Fold returns p with the organisations in ns suspended: the rules a plan
// compares, whose compile is Compile(p).Narrow(ns)'s tables.
func Fold(p *rules.Policy, ns []Narrowing) *rules.Policy {
	narrowed := map[string]bool{}
	for _, n := range ns {
		narrowed[n.Org] = true
	}
	out := *p
	out.Orgs = make([]*rules.Organisation, len(p.Orgs))
	for i, o := range p.Orgs {
		c := *o
		if narrowed[o.ID] {
			c.State = rules.StateSuspended
		}
		out.Orgs[i] = &c
	}
	return &out
}

// Attach records the interfaces a gateway attaches the program to: those
// no organisation comes in on face the services, as the datapath lays
// them out. Call it before deciding with c.
func (c *Compiled) Attach(ifaces []string) {
	orgs := map[string]bool{}
	for _, in := range c.Ingresses {
		orgs[in.Interface] = true
	}
	c.ServiceSide = nil
	for _, name := range ifaces {
		if !orgs[name] {
			c.ServiceSide = append(c.ServiceSide, name)
		}
	}
}
