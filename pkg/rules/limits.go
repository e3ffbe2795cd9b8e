package rules

import "gopkg.in/yaml.v3"

// Limits are what an organisation may hold of the gateway's shared state
// (issue 17); zero fields take the gateway's defaults.
type Limits struct {
	Flows uint32 // flow-table entries at once: its new flows past this are refused (flow_quota)
	Pos   Pos
}

// maxFlowQuota is the largest flow table the datapath can be given.
const maxFlowQuota = 1 << 26

func (d *decoder) limits(n *yaml.Node) *Limits {
	f, ok := d.fields(n, "limits", "flows")
	if !ok {
		return nil
	}
	l := &Limits{Pos: d.pos(resolve(n))}
	if e, ok := f["flows"]; ok {
		v, ok := d.integer(e.val, "flows")
		if ok && (v < 1 || v > maxFlowQuota) {
			d.errorf(resolve(e.val), "limits.flows %d: want 1 to %d flows", v, maxFlowQuota)
		} else if ok {
			l.Flows = uint32(v)
		}
	}
	return l
}
