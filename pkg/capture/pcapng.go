package capture

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Packet is one captured frame with what the boundary decided about it.
type Packet struct {
	Time    time.Time
	Iface   string // gateway interface it came in on
	Ifindex uint32
	Length  int    // the whole frame
	Data    []byte // its first snaplen bytes
	Comment string // "org=... verdict=... reason=..."
}

// sink writes packets in one file format.
type sink interface {
	write(p *Packet) error
}

// ngSink writes pcapng: one interface block per gateway interface seen, and
// each packet's organisation and verdict in its comment. Written by hand
// because gopacket's NgWriter cannot put comments on packets.
type ngSink struct {
	w       io.Writer
	snaplen uint32
	ifaces  map[uint32]uint32 // ifindex -> interface id in the file
}

func newNgSink(w io.Writer, snaplen uint32) (*ngSink, error) {
	s := &ngSink{w: w, snaplen: snaplen, ifaces: map[uint32]uint32{}}
	// Section header: byte-order magic, version 1.0, section length unknown.
	body := binary.LittleEndian.AppendUint32(nil, 0x1A2B3C4D)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	body = append(body, option(4, "palisade")...) // shb_userappl
	body = append(body, 0, 0, 0, 0)               // opt_endofopt
	return s, s.block(0x0A0D0D0A, body)
}

func (s *ngSink) iface(p *Packet) (uint32, error) {
	if id, ok := s.ifaces[p.Ifindex]; ok {
		return id, nil
	}
	id := uint32(len(s.ifaces))
	body := binary.LittleEndian.AppendUint16(nil, uint16(layers.LinkTypeEthernet))
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, s.snaplen)
	body = append(body, option(2, p.Iface)...) // if_name
	body = append(body, option(9, "\x09")...)  // if_tsresol: 10^-9 s
	body = append(body, 0, 0, 0, 0)
	s.ifaces[p.Ifindex] = id
	return id, s.block(1, body)
}

func (s *ngSink) write(p *Packet) error {
	id, err := s.iface(p)
	if err != nil {
		return err
	}
	ts := uint64(p.Time.UnixNano())
	body := binary.LittleEndian.AppendUint32(nil, id)
	body = binary.LittleEndian.AppendUint32(body, uint32(ts>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(ts))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(p.Data)))
	body = binary.LittleEndian.AppendUint32(body, uint32(p.Length))
	body = append(body, pad4(p.Data)...)
	body = append(body, option(1, p.Comment)...) // opt_comment
	body = append(body, 0, 0, 0, 0)
	return s.block(6, body) // enhanced packet block
}

// block frames a body: type, total length, body, total length again.
func (s *ngSink) block(typ uint32, body []byte) error {
	n := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	b = binary.LittleEndian.AppendUint32(b, n)
	_, err := s.w.Write(b)
	return err
}

func option(code uint16, v string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	return append(b, pad4([]byte(v))...)
}

func pad4(b []byte) []byte {
	out := append([]byte{}, b...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

// pcapSink writes classic pcap for old tools: no interfaces, no comments.
type pcapSink struct{ w *pcapgo.Writer }

func newPcapSink(w io.Writer, snaplen uint32) (*pcapSink, error) {
	pw := pcapgo.NewWriterNanos(w)
	return &pcapSink{pw}, pw.WriteFileHeader(snaplen, layers.LinkTypeEthernet)
}

func (s *pcapSink) write(p *Packet) error {
	return s.w.WritePacket(gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: p.Length}, p.Data)
}
