package rules

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

var orgFields = []string{"organisation", "name", "state", "certificate", "ingress", "prefixes", "prefixes_shared_with",
	"allow", "agreements", "limits"}

// orgSource is an organisation with the positions that checks across
// files point back at; the exported types keep one Pos each.
type orgSource struct {
	org      *Organisation
	idPos    Pos   // the id value
	prefixes []Pos // parallel to org.Prefixes
	rules    []ruleSource
	// shares is prefixes_shared_with: the organisations whose
	// prefixes this one agrees may overlap its own.
	shares []orgRef
}

// ingressKey is what identifies an ingress for the datapath: interface,
// outer tag, inner tag (see tags in identity.go).
type ingressKey struct {
	ifname      string
	vlan, inner uint16
}

func keyOf(in Ingress) ingressKey { return ingressKey{in.Interface, in.VLAN, in.InnerVLAN} }

func (k ingressKey) String() string {
	switch {
	case k.vlan == 0:
		return k.ifname
	case k.inner == 0:
		return fmt.Sprintf("%s vlan %d", k.ifname, k.vlan)
	}
	return fmt.Sprintf("%s vlan %d inner_vlan %d", k.ifname, k.vlan, k.inner)
}

func (d *decoder) organisation(top *yaml.Node) *orgSource {
	f, ok := d.fields(top, "organisation", orgFields...)
	if !ok {
		return nil
	}
	id := f["organisation"]
	o := &Organisation{Pos: d.pos(id.key)}
	src := &orgSource{org: o, idPos: d.pos(resolve(id.val))}
	if s, ok := d.str(id.val, "organisation"); ok {
		if !validID(s) {
			d.errorf(resolve(id.val), "invalid organisation id %q; want 1-48 characters of a-z, 0-9 and -", s)
		}
		o.ID = s
	}
	if e, ok := d.required(f, "name", id.key); ok {
		o.Name, _ = d.str(e.val, "name")
	}
	if e, ok := f["state"]; ok {
		o.State = d.state(e.val)
	}
	if e, ok := f["certificate"]; ok {
		o.Certificate = d.certificate(e.val)
	}
	if e, ok := d.required(f, "ingress", id.key); ok {
		o.Ingress = d.ingresses(e)
	}
	if e, ok := d.required(f, "prefixes", id.key); ok {
		if items, ok := d.nonEmptyList(e, "prefixes", "an organisation needs at least one"); ok {
			o.Prefixes, src.prefixes = d.prefixList(items)
		}
	}
	if e, ok := f["prefixes_shared_with"]; ok {
		src.shares = d.orgRefs(e.val, "prefixes_shared_with")
	}
	if e, ok := f["allow"]; ok {
		o.Allow, src.rules = d.allow(e)
	}
	if e, ok := f["agreements"]; ok {
		o.Agreements = d.agreements(e)
	}
	if e, ok := f["limits"]; ok {
		o.Limits = d.limits(e.val)
	}
	return src
}

// required returns field key of f, or reports it missing at the node that
// names what it is missing from.
func (d *decoder) required(f map[string]entry, key string, at *yaml.Node) (entry, bool) {
	e, ok := f[key]
	if !ok {
		d.errorf(at, "missing required field %q", key)
	}
	return e, ok
}

func (d *decoder) state(n *yaml.Node) State {
	s, ok := d.str(n, "state")
	switch {
	case !ok:
	case s == "suspended":
		return StateSuspended
	case s != "active":
		d.errorf(resolve(n), "unknown state %q; want active or suspended", s)
	}
	return StateActive
}

func (d *decoder) ingresses(e entry) []Ingress {
	items, ok := d.nonEmptyList(e, "ingress", "an organisation needs at least one")
	if !ok {
		return nil
	}
	var out []Ingress
	first := map[ingressKey]int{}
	for _, it := range items {
		in, ok := d.ingress(it)
		if !ok {
			continue
		}
		k := keyOf(in)
		if line, dup := first[k]; dup {
			d.errorf(it, "ingress %s listed twice (first at line %d)", k, line)
			continue
		}
		first[k] = it.Line
		out = append(out, in)
	}
	return out
}

func (d *decoder) ingress(n *yaml.Node) (Ingress, bool) {
	f, ok := d.fields(n, "ingress", "interface", "vlan", "inner_vlan")
	if !ok {
		return Ingress{}, false
	}
	in, mark := Ingress{Pos: d.pos(n)}, d.mark()
	if e, ok := d.required(f, "interface", n); ok {
		if s, ok := d.str(e.val, "interface"); ok && !validIfname(s) {
			d.errorf(resolve(e.val), "invalid interface name %q; want 1-15 characters without '/', ':' or whitespace", s)
		} else {
			in.Interface = s
		}
	}
	d.tags(f, &in)
	return in, d.clean(mark)
}
