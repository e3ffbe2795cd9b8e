package inspect

import "github.com/palisade-psn/palisade/pkg/rules"

// Decision is what the inspector made of a flow.
type Decision struct {
	Allow  bool
	Reason string // Allow* or a Refusal
	Name   string // the name it was decided on, when there was one
}

func allow(reason, name string) Decision { return Decision{Allow: true, Reason: reason, Name: name} }

func refuse(err error, name string) Decision {
	return Decision{Reason: string(refusal(err)), Name: name}
}

// decideStream decides a TCP flow on the first bytes its originator sent,
// in order. It says which protocol they are by their shape, and checks only
// the names the rule lists for that protocol: a rule for TLS names does not
// let plain HTTP through. errNeedMore (ok false) until the bytes decide.
func decideStream(in *rules.Inspect, b []byte) (d Decision, ok bool) {
	if len(b) == 0 {
		return Decision{}, false
	}
	maybeHTTP, sureHTTP := looksLikeHTTP(b)
	switch {
	case b[0] == tlsRecordHandshake && len(in.TLSSNI) > 0:
		return decideName(in.TLSSNI, AllowSNI, RefuseSNI)(ClientHelloSNI(b))
	case sureHTTP && len(in.HTTPHost) > 0:
		return decideName(in.HTTPHost, AllowHost, RefuseHost)(HTTPHost(b))
	case maybeHTTP && len(in.HTTPHost) > 0:
		return Decision{}, false
	case len(in.DNS) > 0:
		names, err := DNSOverTCP(b)
		return decideDNS(in.DNS, names, err)
	}
	return refuse(RefuseUnrecognised, ""), true
}

// decideDatagram decides a UDP flow on its first datagram: DNS only.
func decideDatagram(in *rules.Inspect, b []byte) Decision {
	if len(in.DNS) == 0 {
		return refuse(RefuseUnrecognised, "")
	}
	names, err := DNSQuestions(b)
	d, _ := decideDNS(in.DNS, names, err)
	return d
}

func decideName(patterns []string, reason string, notAllowed Refusal) func(string, error) (Decision, bool) {
	return func(name string, err error) (Decision, bool) {
		switch {
		case err == errNeedMore:
			return Decision{}, false
		case err != nil:
			return refuse(err, ""), true
		case !Match(patterns, name):
			return refuse(notAllowed, name), true
		}
		return allow(reason, name), true
	}
}

func decideDNS(zones, names []string, err error) (Decision, bool) {
	if err == errNeedMore {
		return Decision{}, false
	}
	if err != nil {
		return refuse(err, ""), true
	}
	name, err := allowedDNS(zones, names)
	if err != nil {
		return refuse(err, name), true
	}
	return allow(AllowDNS, name), true
}
