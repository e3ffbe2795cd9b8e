package inspect

// maxStreamBytes bounds a flow's reassembly: what the decision can need
// (a whole ClientHello plus record headers); beyond it the flow is refused.
const maxStreamBytes = maxClientHello + 1024

// stream reassembles the first bytes an originator sent, by sequence
// number, whatever order the segments come in. A byte sent twice with
// different values refuses the flow: the server and the inspector could
// otherwise read different streams.
type stream struct {
	base    uint32 // sequence number of the first payload byte
	hasBase bool
	buf     []byte
	have    []bool
}

// start records the originator's SYN: its payload starts at isn+1.
func (s *stream) start(isn uint32) {
	s.base, s.hasBase = isn+1, true
}

// known says where the stream starts is known: from the originator's
// SYN, the service's SYN-ACK, or remembered over an idle spell. Without
// it, the first segment to arrive could be taken for the first bytes
// while the service reads others before it.
func (s *stream) known() bool { return s.hasBase }

// add places a segment. It returns false when the segment cannot belong
// to the first bytes (before the start, or past the bound). The start
// must be known.
func (s *stream) add(seq uint32, data []byte) (ok bool, err error) {
	if !s.hasBase {
		return false, RefuseNoStart
	}
	off := int64(int32(seq - s.base))
	if off < 0 || off >= maxStreamBytes {
		return false, nil
	}
	if len(data) == 0 {
		return true, nil // places nothing: must not grow the buffer, or empty() would be false
	}
	if off+int64(len(data)) > maxStreamBytes {
		data = data[:maxStreamBytes-off]
	}
	end := int(off) + len(data)
	if end > len(s.buf) {
		s.buf = append(s.buf, make([]byte, end-len(s.buf))...)
		s.have = append(s.have, make([]bool, end-len(s.have))...)
	}
	for i, c := range data {
		j := int(off) + i
		if s.have[j] && s.buf[j] != c {
			return true, RefuseInconsistent
		}
		s.buf[j], s.have[j] = c, true
	}
	return true, nil
}

// empty says nothing is buffered yet and seq starts the stream.
func (s *stream) empty(seq uint32) bool {
	return len(s.buf) == 0 && s.hasBase && seq == s.base
}

// prefix is the in-order bytes received so far.
func (s *stream) prefix() []byte {
	for i, h := range s.have {
		if !h {
			return s.buf[:i]
		}
	}
	return s.buf
}

// full says the bound is reached without a decision.
func (s *stream) full() bool { return len(s.prefix()) >= maxStreamBytes }
