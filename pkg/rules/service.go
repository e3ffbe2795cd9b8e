package rules

import (
	"gopkg.in/yaml.v3"
)

var (
	servicesFileFields = []string{"services", "remediation"}
	serviceFields      = []string{"description", "owner", "to", "ports"}
)

// servicesFile is what the one services file holds.
type servicesFile struct {
	at          Pos // its services key, to name it if a second file defines services
	services    map[string]*Service
	remediation []*yaml.Node // checked once every service is known
	// owned holds the services with an owner: the organisation that hosts
	// them and alone may offer them in an agreement (see owner.go).
	owned map[string]ownedService
}

func (d *decoder) servicesFile(top *yaml.Node) *servicesFile {
	f, ok := d.fields(top, "services file", servicesFileFields...)
	if !ok {
		return nil
	}
	sf := &servicesFile{at: Pos{File: d.file, Line: 1, Col: 1}, services: map[string]*Service{}, owned: map[string]ownedService{}}
	if e, ok := d.required(f, "services", resolve(top)); ok {
		sf.at = d.pos(e.key)
		d.services(e.val, sf)
	}
	if e, ok := f["remediation"]; ok {
		sf.remediation = d.remediation(e.val)
	}
	return sf
}

func (d *decoder) services(n *yaml.Node, sf *servicesFile) {
	es, _ := d.pairs(n, "services")
	for _, e := range es {
		if !validID(e.key.Value) {
			d.errorf(e.key, "invalid service name %q; want 1-48 characters of a-z, 0-9 and -", e.key.Value)
		}
		// Kept even with errors, so rules naming it are not also reported
		// as naming an unknown service.
		if s, owned := d.service(e); s != nil {
			sf.services[s.Name] = s
			if owned.owner.id != "" {
				sf.owned[s.Name] = owned
			}
		}
	}
}

func (d *decoder) service(e entry) (*Service, ownedService) {
	var owned ownedService
	f, ok := d.fields(e.val, "service", serviceFields...)
	if !ok {
		return nil, owned
	}
	s := &Service{Name: e.key.Value, Pos: d.pos(e.key)}
	if de, ok := f["description"]; ok {
		s.Description, _ = d.str(de.val, "description")
	}
	if oe, ok := f["owner"]; ok {
		if id, ok := d.str(oe.val, "owner"); ok {
			s.Owner, owned.owner = id, orgRef{id: id, pos: d.pos(resolve(oe.val))}
		}
	}
	if te, ok := d.required(f, "to", e.key); ok {
		if items, ok := d.nonEmptyList(te, "to", "a service needs at least one destination"); ok {
			s.To, owned.to = d.prefixList(items)
		}
	}
	if pe, ok := d.required(f, "ports", e.key); ok {
		if items, ok := d.nonEmptyList(pe, "ports", "a service needs at least one"); ok {
			s.Ports = d.servicePorts(items)
		}
	}
	return s, owned
}

// servicePorts insists on a protocol with every port: a service has no
// proto: key, so "443" alone would be ambiguous.
func (d *decoder) servicePorts(items []*yaml.Node) []PortRange {
	var out []PortRange
	for _, s := range d.portSpecs(items) {
		if !s.named {
			t := s.text()
			d.errorf(s.node, "port %s has no protocol; write \"%s/tcp\" or \"%s/udp\"", t, t, t)
			continue
		}
		out = append(out, s.PortRange)
	}
	return normalPorts(out)
}

// remediation returns the service names as nodes; whether each exists is
// checked with the others once every file is read.
func (d *decoder) remediation(n *yaml.Node) []*yaml.Node {
	items, _ := d.list(n, "remediation")
	var out []*yaml.Node
	first := map[string]int{}
	for _, it := range items {
		s, ok := d.str(it, "remediation service")
		if !ok {
			continue
		}
		if line, dup := first[s]; dup {
			d.errorf(it, "service %q listed twice in remediation (first at line %d)", s, line)
			continue
		}
		first[s] = it.Line
		out = append(out, it)
	}
	return out
}
