// Package capture records the packets of one organisation as they cross the
// gateway, including those the boundary drops, into pcapng (or pcap) files
// with each packet's organisation and verdict, bounded in time, packets and
// bytes. Each is recorded in the audit log before it starts and, with its
// file's SHA-256, when it finishes; one the log cannot record is not taken,
// or not handed over.
package capture

import (
	"fmt"
	"time"
)

// Request is what a responder asks for.
type Request struct {
	Org      string        `json:"org"`
	Filter   string        `json:"filter,omitempty"`
	Duration time.Duration `json:"duration"`          // 0: DefaultDuration
	Packets  int           `json:"packets,omitempty"` // 0: DefaultPackets
	Bytes    int64         `json:"bytes,omitempty"`   // file size bound; 0: DefaultBytes
	Full     bool          `json:"full,omitempty"`    // whole packets, not headers only
	Format   string        `json:"format,omitempty"`  // pcapng (default) or pcap
}

// Bounds every capture keeps, whatever is asked.
const (
	DefaultDuration = 30 * time.Second
	MaxDuration     = time.Hour
	DefaultPackets  = 10000
	DefaultBytes    = 64 << 20
	MaxBytes        = 1 << 30
	HeaderSnaplen   = 128 // headers only: official data stays out of the file
	FullSnaplen     = 9216
)

// Normalise fills defaults and checks bounds.
func (r *Request) Normalise() error {
	if r.Org == "" {
		return fmt.Errorf("an organisation is required")
	}
	if r.Duration <= 0 {
		r.Duration = DefaultDuration
	}
	if r.Packets <= 0 {
		r.Packets = DefaultPackets
	}
	if r.Bytes <= 0 {
		r.Bytes = DefaultBytes
	}
	if r.Duration > MaxDuration || r.Bytes > MaxBytes {
		return fmt.Errorf("a capture is bounded by %v and %d bytes", MaxDuration, MaxBytes)
	}
	switch r.Format {
	case "":
		r.Format = "pcapng"
	case "pcapng", "pcap":
	default:
		return fmt.Errorf("format %q: pcapng or pcap", r.Format)
	}
	if _, err := ParseFilter(r.Filter); err != nil {
		return err
	}
	return nil
}

// Snaplen is how many bytes of each packet the capture keeps.
func (r *Request) Snaplen() uint32 {
	if r.Full {
		return FullSnaplen
	}
	return HeaderSnaplen
}

// Info describes a capture, running or finished.
type Info struct {
	ID        string    `json:"id"`
	Request   Request   `json:"request"`
	Requester string    `json:"requester"`
	State     string    `json:"state"` // running, done, failed
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	Stopped   string    `json:"stopped_by,omitempty"` // duration, packets, bytes, request, error
	Packets   int       `json:"packets"`
	Bytes     int64     `json:"bytes"` // of the file
	Seen      int       `json:"seen"`  // packets of the organisation before the filter
	Lost      uint64    `json:"lost"`  // samples the perf buffer lost
	SHA256    string    `json:"sha256,omitempty"`
	File      string    `json:"file"`
	Error     string    `json:"error,omitempty"`
}
