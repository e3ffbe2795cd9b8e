package rules

import (
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Certificate is an organisation's PSN compliance certificate. When it
// lapses the agent narrows the organisation to remediation by itself.
type Certificate struct {
	// Expires is the first instant the certificate no longer holds: a date
	// (2027-03-31) is valid to the end of that day, UTC.
	Expires time.Time
	Pos     Pos
}

// Lapsed reports whether the certificate has expired at now.
func (c *Certificate) Lapsed(now time.Time) bool { return c != nil && !now.Before(c.Expires) }

func (d *decoder) certificate(n *yaml.Node) *Certificate {
	f, ok := d.fields(n, "certificate", "expires")
	if !ok {
		return nil
	}
	e, ok := d.required(f, "expires", resolve(n))
	if !ok {
		return nil
	}
	s, ok := d.str(e.val, "expires")
	if !ok {
		return nil
	}
	c := &Certificate{Pos: d.pos(resolve(e.val))}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		c.Expires = t.AddDate(0, 0, 1)
		return c
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.errorf(resolve(e.val), "expires %q: want a date like 2027-03-31 or a time like 2027-03-31T17:00:00Z", s)
		return nil
	}
	c.Expires = t
	return c
}

// CertificateWarnings lists certificates that have lapsed or lapse within
// the window, for `palisade validate` to warn ahead of the automatic
// narrowing.
func CertificateWarnings(p *Policy, now time.Time, window time.Duration) []*Error {
	var out []*Error
	for _, o := range p.Orgs {
		c := o.Certificate
		switch {
		case c == nil:
		case c.Lapsed(now):
			out = append(out, &Error{Pos: c.Pos, Msg: "compliance certificate of " + o.ID + " has expired: the organisation is narrowed to remediation"})
		case c.Expires.Sub(now) <= window:
			days := int(c.Expires.Sub(now).Hours()/24) + 1
			out = append(out, &Error{Pos: c.Pos, Msg: "compliance certificate of " + o.ID + " expires in " + itoa(days) + " day(s), on " +
				c.Expires.UTC().Format(time.RFC3339) + "; it is then narrowed to remediation"})
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
