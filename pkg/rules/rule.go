package rules

import (
	"gopkg.in/yaml.v3"
)

var ruleFields = []string{"id", "service", "to", "proto", "ports", "inspect"}

// ruleSource keeps the positions that checks made after decoding (an
// unknown service, a shadowed destination) point back at.
type ruleSource struct {
	service Pos   // the service name, for a service rule
	to      []Pos // each destination prefix, for a to: rule
	inspect Pos   // the inspect key, if any
	id      Pos   // the id, or the rule itself when the id is derived
	derived bool  // no id: was written
}

// allow decodes an organisation's rules. Rules with errors are kept, so
// that later checks still report their other problems.
func (d *decoder) allow(e entry) ([]Rule, []ruleSource) {
	items, ok := d.list(e.val, "allow")
	if !ok {
		return nil, nil
	}
	var rules []Rule
	var srcs []ruleSource
	for _, it := range items {
		r, src, ok := d.rule(it)
		if ok {
			rules, srcs = append(rules, r), append(srcs, src)
		}
	}
	d.checkRuleIDs(rules, srcs)
	return rules, srcs
}

func (d *decoder) rule(n *yaml.Node) (Rule, ruleSource, bool) {
	f, ok := d.fields(n, "rule", ruleFields...)
	if !ok {
		return Rule{}, ruleSource{}, false
	}
	r, src := Rule{Pos: d.pos(n)}, ruleSource{}
	mark := d.mark()
	svc, hasSvc := f["service"]
	to, hasTo := f["to"]
	switch {
	case hasSvc && hasTo:
		d.errorf(later(svc.key, to.key), "rule has both service and to; name a service or list destinations, not both")
	case hasSvc:
		d.serviceRule(&r, &src, f, svc)
	case hasTo:
		d.destRule(&r, &src, f, to, n)
	default:
		d.errorf(n, "rule needs either service or to")
	}
	if e, ok := f["inspect"]; ok {
		r.Inspect, src.inspect = d.inspect(e.val), d.pos(e.key)
	}
	d.ruleID(&r, &src, f, d.clean(mark))
	return r, src, true
}

// serviceRule takes a rule's destinations and ports from a named service;
// they are filled in once every file is read, as the services file may
// come after the organisation's.
func (d *decoder) serviceRule(r *Rule, src *ruleSource, f map[string]entry, svc entry) {
	r.Service, _ = d.str(svc.val, "service")
	src.service = d.pos(resolve(svc.val))
	if e, ok := f["proto"]; ok {
		d.errorf(e.key, "proto comes from service %q; remove it", r.Service)
	}
	if e, ok := f["ports"]; ok {
		d.errorf(e.key, "ports come from service %q; remove them", r.Service)
	}
}

func (d *decoder) destRule(r *Rule, src *ruleSource, f map[string]entry, to entry, n *yaml.Node) {
	if items, ok := d.nonEmptyList(to, "to", "list the destinations or name a service"); ok {
		r.To, src.to = d.prefixList(items)
	}
	r.Ports = d.rulePorts(f, n)
}

// ruleID sets the rule's id as written or, failing that, derives one: the
// service name, or a hash of what the rule allows (see derivedID). A rule
// with errors gets no derived id, as a hash of half a rule means nothing.
func (d *decoder) ruleID(r *Rule, src *ruleSource, f map[string]entry, sound bool) {
	if e, ok := f["id"]; ok {
		src.id = d.pos(resolve(e.val))
		id, ok := d.str(e.val, "rule id")
		if ok && !validRuleID(id) {
			d.errorf(resolve(e.val), "invalid rule id %q; want 1-64 characters of a-z, 0-9, '-', '_' and '.'", id)
			return
		}
		r.ID = id
		return
	}
	src.id, src.derived = r.Pos, true
	switch {
	case r.Service != "":
		r.ID = r.Service
	case sound:
		r.ID = derivedID(r.To, r.Ports)
	}
}

// checkRuleIDs insists on unique ids within an organisation: counters and
// flow logs are keyed by organisation and rule id.
func (d *decoder) checkRuleIDs(rules []Rule, srcs []ruleSource) {
	first := make(map[string]int, len(rules))
	for i, r := range rules {
		if r.ID == "" {
			continue
		}
		if j, dup := first[r.ID]; dup {
			hint := ""
			if srcs[i].derived {
				hint = "; a rule without id: is named by what it allows, so give one of them an id"
			}
			d.f.errorf(srcs[i].id, "duplicate rule id %q (first at line %d)%s", r.ID, srcs[j].id.Line, hint)
			continue
		}
		first[r.ID] = i
	}
}

// later returns whichever of two nodes was written second.
func later(a, b *yaml.Node) *yaml.Node {
	if b.Line > a.Line || b.Line == a.Line && b.Column > a.Column {
		return b
	}
	return a
}
