package inspect

import "errors"

// errNeedMore says the bytes so far do not decide the flow yet.
var errNeedMore = errors.New("need more bytes")

// Refusal is why a flow was refused; its text is the metric's reason label.
type Refusal string

func (r Refusal) Error() string { return string(r) }

// Reasons, bounded for metrics labels.
const (
	RefuseNoSNI        Refusal = "no_sni"
	RefuseSNI          Refusal = "sni_not_allowed"
	RefuseNoHost       Refusal = "no_host"
	RefuseHost         Refusal = "host_not_allowed"
	RefuseDNSName      Refusal = "dns_name_not_allowed"
	RefuseNotDNS       Refusal = "not_dns_query"
	RefuseMalformed    Refusal = "malformed"
	RefuseUnrecognised Refusal = "unrecognised_protocol"
	RefuseFragment     Refusal = "ip_fragment"
	RefuseTooLong      Refusal = "too_long"
	RefuseInconsistent Refusal = "inconsistent_retransmission"
	RefuseTimeout      Refusal = "timeout"
	RefuseNoRule       Refusal = "no_inspect_rule"
	RefuseOverload     Refusal = "overload"
	RefuseNoStart      Refusal = "start_not_seen"
	// An HTTP header line folded onto the one before (obs-fold): servers
	// join it, reject it or read it as a header of its own.
	RefuseObsFold Refusal = "http_obs_fold"
	// An absolute-form request target and a Host header naming different
	// hosts: the server uses the target, a proxy or virtual host before it
	// may use the header.
	RefuseHostConflict Refusal = "http_host_conflict"
	RefuseUrgent       Refusal = "urgent_data"
	RefuseHoldBound    Refusal = "hold_bound"
)

// Reasons a flow is allowed.
const (
	AllowSNI  = "sni"
	AllowHost = "http_host"
	AllowDNS  = "dns"
)

// refusal extracts the reason of a refusing error; anything unexpected is
// malformed input.
func refusal(err error) Refusal {
	var r Refusal
	if errors.As(err, &r) {
		return r
	}
	return RefuseMalformed
}
