package doctor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
)

const routeCheck = "route back"

// checkRoutesBack: the datapath drops every new flow whose source the
// routing table does not route back through the interface the flow came in
// on (or a VLAN device of it carrying the frame's tag), as reverse_path. A
// gateway routed so refuses an organisation silently; each registered
// prefix is checked by the route to its first address.
func checkRoutesBack(h Host, t *target) []Result {
	if t.policy == nil {
		return nil
	}
	var res []Result
	vlans, err := h.VLANDevices()
	if err != nil {
		res = append(res, warn(routeCheck, "cannot read VLAN devices, routes through them count as mismatches: %v", err))
	}
	n := 0
	for _, org := range t.policy.Orgs {
		for _, p := range org.Prefixes {
			n++
			first := p.Masked().Addr()
			rd, err := h.RouteDev(first)
			if err == nil && leadsBack(h, org.Ingress, rd, vlans) {
				continue
			}
			res = append(res, warn(routeCheck, "%s: %s (route to its first address %s) %s, not back through its ingress %s: palisaded drops its new flows as reverse_path",
				org.ID, p, first, routeLeads(rd, err), ingressNames(org.Ingress)).on(org.ID))
		}
	}
	if len(res) == 0 {
		res = append(res, ok(routeCheck, "all %d registered prefixes of %d organisations are routed back through their ingress (route to each prefix's first address)", n, len(t.policy.Orgs)))
	}
	return res
}

// leadsBack reports whether a route through rd leads back to one of the
// ingresses: the interface itself, or for a VLAN ingress a VLAN device of
// that interface with the same VLAN ID (for QinQ, the same outer and inner
// ID), as the datapath's reverse-path check has it.
func leadsBack(h Host, ingress []rules.Ingress, rd RouteDev, vlans []datapath.VLANDev) bool {
	for _, in := range ingress {
		if rd.Name == in.Interface {
			return true
		}
		if in.VLAN == 0 {
			continue
		}
		for _, v := range vlans {
			if v.Ifindex != rd.Ifindex || v.VLAN != in.VLAN || v.InnerVLAN != in.InnerVLAN {
				continue
			}
			if l, err := h.Link(in.Interface); err == nil && l.Ifindex == v.Parent {
				return true
			}
		}
	}
	return false
}

func routeLeads(rd RouteDev, err error) string {
	switch {
	case errors.Is(err, ErrNoRoute):
		return "has no route"
	case err != nil:
		return fmt.Sprintf("has a route that could not be looked up (%v)", err)
	}
	return "is routed through " + rd.Name
}

func ingressNames(ingress []rules.Ingress) string {
	names := make([]string, len(ingress))
	for i, in := range ingress {
		names[i] = in.Interface
		switch {
		case in.InnerVLAN != 0:
			names[i] = fmt.Sprintf("%s VLAN %d inner VLAN %d (%s itself or its VLAN %d.%d device)",
				in.Interface, in.VLAN, in.InnerVLAN, in.Interface, in.VLAN, in.InnerVLAN)
		case in.VLAN != 0:
			names[i] = fmt.Sprintf("%s VLAN %d (%s itself or its VLAN %d device)", in.Interface, in.VLAN, in.Interface, in.VLAN)
		}
	}
	return strings.Join(names, " or ")
}
