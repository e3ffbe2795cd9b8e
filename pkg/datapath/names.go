package datapath

import "fmt"

// Drop reason names, as metrics labels and flow logs report them. The
// policy's own reasons share their names with package policy.
var dropReasonNames = map[BoundaryPalDropReason]string{
	BoundaryPalDropReasonPAL_DROP_NONE:                "none",
	BoundaryPalDropReasonPAL_DROP_L2TRUNCATED:         "l2_truncated",
	BoundaryPalDropReasonPAL_DROP_VLAN_DEPTH:          "vlan_depth",
	BoundaryPalDropReasonPAL_DROP_L3UNSUPPORTED:       "l3_unsupported",
	BoundaryPalDropReasonPAL_DROP_IPV4MALFORMED:       "ipv4_malformed",
	BoundaryPalDropReasonPAL_DROP_IPV4SOURCE_ROUTE:    "ipv4_source_route",
	BoundaryPalDropReasonPAL_DROP_IPV6MALFORMED:       "ipv6_malformed",
	BoundaryPalDropReasonPAL_DROP_IPV6EXT_HEADER:      "ipv6_ext_header",
	BoundaryPalDropReasonPAL_DROP_FRAGMENT:            "fragment",
	BoundaryPalDropReasonPAL_DROP_L4TRUNCATED:         "l4_truncated",
	BoundaryPalDropReasonPAL_DROP_L4UNSUPPORTED:       "l4_unsupported",
	BoundaryPalDropReasonPAL_DROP_UNKNOWN_INGRESS:     "unknown_ingress",
	BoundaryPalDropReasonPAL_DROP_SPOOFED_SOURCE:      "spoofed_source",
	BoundaryPalDropReasonPAL_DROP_NO_RULE:             "no_rule",
	BoundaryPalDropReasonPAL_DROP_SUSPENDED:           "suspended",
	BoundaryPalDropReasonPAL_DROP_NO_FLOW:             "no_flow",
	BoundaryPalDropReasonPAL_DROP_NO_POLICY:           "no_policy",
	BoundaryPalDropReasonPAL_DROP_FLOW_DENIED:         "flow_denied",
	BoundaryPalDropReasonPAL_DROP_INTERNAL:            "internal",
	BoundaryPalDropReasonPAL_DROP_LINK_CONTROL:        "link_control",
	BoundaryPalDropReasonPAL_DROP_REVERSE_PATH:        "reverse_path",
	BoundaryPalDropReasonPAL_DROP_FLOW_INGRESS:        "flow_ingress",
	BoundaryPalDropReasonPAL_DROP_ICMP_ERROR_MISMATCH: "icmp_error_mismatch",
	BoundaryPalDropReasonPAL_DROP_ICMP_ERROR_SIZE:     "icmp_error_size",
	BoundaryPalDropReasonPAL_DROP_FLOW_QUOTA:          "flow_quota",
	BoundaryPalDropReasonPAL_DROP_FLOW_TABLE_FULL:     "flow_table_full",
	BoundaryPalDropReasonPAL_DROP_FRAGMENT_QUOTA:      "fragment_quota",
	BoundaryPalDropReasonPAL_DROP_RATE_LIMITED:        "rate_limited",
}

// DropReasonName names a datapath drop reason.
func DropReasonName(r BoundaryPalDropReason) string {
	if n, ok := dropReasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason_%d", r)
}

// DropReasons lists every reason name, in datapath order (for metrics).
func DropReasons() []string {
	out := make([]string, 0, len(dropReasonNames))
	for r := BoundaryPalDropReason(1); r < BoundaryPalDropReasonPAL_DROP__MAX; r++ {
		out = append(out, DropReasonName(r))
	}
	return out
}
