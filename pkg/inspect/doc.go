// Package inspect decides flagged flows in userspace: the XDP program
// passes an inspected flow's packets to the kernel with a mark, netfilter
// queues them (NFQUEUE), and the inspector reads the first bytes of the
// flow — a TLS ClientHello's server name, an HTTP/1.x Host, DNS question
// names — checks them against the rule's allowed names, and writes the
// verdict back into the XDP flow table, so the rest of the flow never
// comes here again.
//
// No byte of the client's reaches the service before the verdict: every
// client segment with payload is held in the kernel's queue until the
// flow is decided (tracker.go, hold). Holding is bounded by what a TCP
// client sends before its first acknowledgement anyway, its initial
// window of 10 segments: nothing is acknowledged before the verdict, so
// a name not complete within them would stall. The common clients (Go,
// curl, OpenSSL, browsers) send the whole ClientHello in one to three
// segments. The other design, answering the handshake on the service's
// behalf until the verdict, holds names of any length but makes the
// agent a TCP proxy of every inspected flow: a socket each, and a
// connection that is no longer the client's and the service's own
// (options, windows, timestamps). Past a bound the flow takes its rule's
// failure mode: refused, or (fail-open) passed and still decided by name.
//
// The parsers read what the service will read: HTTP heads with bare-LF
// endings as servers accept them, no folded or duplicate Host headers,
// no urgent data (the service's stack drops the urgent byte), no
// retransmission that disagrees with bytes already read.
//
// The queue path (netfilter.go) cannot be flushed open: a fail-closed
// packet that skips the queue chain still carries the mark a blackhole
// ip rule drops at routing, and a watcher (watch.go) puts back whatever
// part of the path goes missing.
//
// The tracker and the queues are shared by every organisation, so each
// organisation has a budget in them (budget.go), enforced here, where the
// tracker is written: at most its quota of tracked flows (a fair share,
// or the agent's inspect.org_flow_quota), its own flows making room for
// its new one (decided, then unreplied, then quiet ones; never one
// carrying data, never another organisation's), and with none to give
// its new flow takes its rule's failure mode, counted per organisation.
//
// The queues are kept as they are, one set per failure mode, rather than
// one per organisation: netfilter sees only the datapath's mark, not the
// organisation, and a queue per organisation would mean a consumer and
// 4,096 kernel slots each. What one organisation can occupy in a queue
// for long is what the inspector holds there (segments of a split name
// awaiting the decision), so that is what is bounded per organisation:
// a quarter of a queue; past it the organisation's flow that needs to
// hold one more takes its failure mode. The rest of a
// queue is read first come, first served; a flood faster than the
// inspector reads is for the datapath's per-organisation flow quotas.
//
// A fail-closed flow it cannot decide is refused, never passed. It imports the
// datapath's flow table API and the rules' inspect blocks; the agent
// imports it.
package inspect
