// Package lab builds throwaway network labs out of Linux network namespaces
// joined by veth pairs, for Palisade's end-to-end tests and its demo.
//
// Every namespace a Lab makes is named prefix+random+"-"+role so parallel
// tests never collide, and Close removes all of them (and stops the echo
// servers started in them); NewT ties that to t.Cleanup so a failing or
// panicking test still leaves the host clean. Addr and Route refuse
// anything outside 198.18.0.0/15 and 2001:db8::/32, and lab namespaces
// have no link to the host's own, so a lab never reaches a real network.
//
// NewGateway builds a gateway lab from a GatewaySpec; StandardSpec is the
// one the example policy in rules/ and `make demo` use. What a user of a
// gateway lab should know:
//
//   - VLANs are emulated. The lab kernel may lack 8021q, so there are no
//     VLAN subinterfaces: a VLAN's addresses sit on the link's veth ends
//     (gateway org1 holds 198.18.3.1, .4.1 and .5.1) and tc programs tag
//     frames on the wire by address. XDP on the gateway sees real 802.1Q
//     headers; bpf_fib_lookup towards a VLAN host returns the parent veth,
//     so a datapath that redirects there must push the tag itself. Hosts
//     drop frames whose tag does not match their addresses, so a missing
//     tag fails the test rather than passing unnoticed. SendUDPFromVLAN
//     puts a frame on any VLAN, for spoofing tests.
//   - Every veth end has GRO on (frames XDP redirects into a veth are lost
//     unless its peer has GRO or an XDP program), transmit checksum
//     offload off (XDP_REDIRECT loses "checksum pending", so TCP and UDP
//     would arrive corrupt) and VLAN tag offload off (so tags are in the
//     frame). Both needs were checked with a prototype XDP forwarder.
//   - IPv6 addresses are added with nodad and DAD is off, so they work at
//     once; rp_filter is off everywhere; the gateway forwards both families.
//   - The gateway learns neighbours on demand, so the first packet of a
//     test may wait for ARP/ND: use timeouts of a second or more, and
//     UDPExchange's retries.
package lab
