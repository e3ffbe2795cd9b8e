package rules

import (
	"slices"

	"gopkg.in/yaml.v3"
)

var inspectFields = []string{"tls_sni", "http_host", "dns", "fail"}

// inspect decodes a rule's inspect block. An empty one is an error rather
// than "inspect nothing": it would send traffic to the inspector with no
// name that could ever let it through.
func (d *decoder) inspect(n *yaml.Node) *Inspect {
	f, ok := d.fields(n, "inspect", inspectFields...)
	if !ok {
		return nil
	}
	in := &Inspect{
		TLSSNI:   d.hostPatterns(f, "tls_sni"),
		HTTPHost: d.hostPatterns(f, "http_host"),
		DNS:      d.hostPatterns(f, "dns"),
	}
	if e, ok := f["fail"]; ok {
		in.FailOpen = d.failOpen(e.val)
	}
	if len(in.TLSSNI)+len(in.HTTPHost)+len(in.DNS) == 0 {
		d.errorf(resolve(n), "inspect needs names in at least one of tls_sni, http_host or dns")
	}
	return in
}

func (d *decoder) hostPatterns(f map[string]entry, key string) []string {
	e, ok := f[key]
	if !ok {
		return nil
	}
	items, _ := d.list(e.val, key)
	var out []string
	for _, it := range items {
		s, ok := d.str(it, key+" name")
		if !ok {
			continue
		}
		if !validHostPattern(s) {
			d.errorf(it, "invalid name %q in %s; want lowercase DNS labels, optionally after a leading \"*.\"", s, key)
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// failOpen reads the declared failure mode; closed is the default because
// an inspector that is down must not open the boundary.
func (d *decoder) failOpen(n *yaml.Node) bool {
	s, ok := d.str(n, "fail")
	switch {
	case !ok:
	case s == "open":
		return true
	case s != "closed":
		d.errorf(resolve(n), "unknown fail mode %q; want closed or open", s)
	}
	return false
}

// equal reports whether two rules flag traffic the same way.
func (in *Inspect) equal(o *Inspect) bool {
	if in == nil || o == nil {
		return in == o
	}
	return in.FailOpen == o.FailOpen && slices.Equal(in.TLSSNI, o.TLSSNI) &&
		slices.Equal(in.HTTPHost, o.HTTPHost) && slices.Equal(in.DNS, o.DNS)
}
