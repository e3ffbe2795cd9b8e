package capture

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf/perf"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// run is one capture in progress (or done).
type run struct {
	mu     sync.Mutex
	info   Info
	rd     *perf.Reader
	file   *os.File
	out    *countingWriter
	buf    *bufio.Writer
	sink   sink
	filter *Filter
	names  map[uint32]string // rule slots
	orgs   map[uint32]string
	ifs    map[uint32]string
	stop   sync.Once
	done   chan struct{}
}

// countingWriter counts what reaches the file; read by snapshot from
// other goroutines, hence atomic.
type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// begin opens the file and the perf buffer, then switches the datapath on:
// in that order, so no packet is copied before someone reads.
func (m *Manager) begin(info Info, slot uint32) (*run, error) {
	filter, _ := ParseFilter(info.Request.Filter) // checked by Normalise
	f, err := os.OpenFile(info.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture file: %w", err)
	}
	r := &run{info: info, file: f, filter: filter, done: make(chan struct{}), ifs: map[uint32]string{}}
	r.orgs, r.names = m.dp.SlotNames()
	r.out = &countingWriter{w: f}
	r.buf = bufio.NewWriter(r.out)
	snap := info.Request.Snaplen()
	if info.Request.Format == "pcap" {
		r.sink, err = newPcapSink(r.buf, snap)
	} else {
		r.sink, err = newNgSink(r.buf, snap)
	}
	if err == nil {
		r.rd, err = m.dp.CaptureReader(int(max(snap*64, 1<<18)))
	}
	if err == nil {
		err = m.dp.SetCapture(slot, snap)
	}
	if err != nil {
		if r.rd != nil {
			r.rd.Close()
		}
		f.Close()
		os.Remove(info.File)
		return nil, err
	}
	return r, nil
}

func (r *run) running() bool { return r.snapshot().State == "running" }

func (r *run) snapshot() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.info
	i.Bytes = r.out.n.Load()
	return i
}

func (r *run) requestStop() { r.stop.Do(func() { r.rd.Close() }) }

// loop copies samples to the file until a bound is reached or it is stopped.
func (r *run) loop(m *Manager) {
	defer close(r.done)
	req := r.info.Request
	r.rd.SetDeadline(r.info.Started.Add(req.Duration))
	flushed := make(chan struct{})
	defer close(flushed)
	go r.flushEvery(flushInterval, flushed)
	why, err := r.copy(req)
	r.requestStop()
	r.end(why, err)
	m.finish(r)
}

// flushInterval bounds how long a record waits in the kernel's buffer: the
// datapath wakes the reader every datapath.CaptureWakeup records only.
const flushInterval = 100 * time.Millisecond

// flushEvery hands the reader whatever the kernel holds, every interval,
// until done closes.
func (r *run) flushEvery(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			_ = r.rd.Flush()
		}
	}
}

func (r *run) copy(req Request) (string, error) {
	for {
		rec, err := r.rd.Read()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "duration", nil
		case errors.Is(err, perf.ErrClosed):
			return "request", nil
		case errors.Is(err, perf.ErrFlushed):
			continue
		case err != nil:
			return "error", err
		}
		r.mu.Lock()
		r.info.Lost += rec.LostSamples
		r.mu.Unlock()
		p, ok := r.packet(rec.RawSample)
		if !ok || !r.filter.Match(p.Data) {
			continue
		}
		if err := r.sink.write(p); err != nil {
			return "error", fmt.Errorf("write capture: %w", err)
		}
		r.mu.Lock()
		r.info.Packets++
		n := r.info.Packets
		r.mu.Unlock()
		if n >= req.Packets {
			return "packets", nil
		}
		if r.out.n.Load()+int64(r.buf.Buffered()) >= req.Bytes {
			return "bytes", nil
		}
	}
}

const metaSize = int(unsafe.Sizeof(datapath.BoundaryPalCaptureMeta{}))

// packet splits a sample into its metadata and the frame bytes after it.
func (r *run) packet(raw []byte) (*Packet, bool) {
	if len(raw) < metaSize {
		return nil, false
	}
	m := (*datapath.BoundaryPalCaptureMeta)(unsafe.Pointer(&raw[0]))
	if int(m.CapLen) > len(raw)-metaSize {
		return nil, false
	}
	r.mu.Lock()
	r.info.Seen++
	r.mu.Unlock()
	data := append([]byte{}, raw[metaSize:metaSize+int(m.CapLen)]...)
	comment := "org=" + r.orgs[m.OrgSlot] + " verdict=" + datapath.VerdictName(datapath.BoundaryPalVerdict(m.Verdict))
	if m.Verdict == uint8(datapath.BoundaryPalVerdictPAL_VERDICT_DROP) {
		comment += " reason=" + datapath.DropReasonName(datapath.BoundaryPalDropReason(m.Reason))
	} else if rule := r.names[m.RuleSlot]; rule != "" {
		comment += " rule=" + rule
	}
	return &Packet{Time: datapath.WallTime(m.TsNs), Iface: r.ifname(m.Ifindex), Ifindex: m.Ifindex,
		Length: int(m.PktLen), Data: data, Comment: comment}, true
}

func (r *run) ifname(idx uint32) string {
	if n, ok := r.ifs[idx]; ok {
		return n
	}
	n := "ifindex" + strconv.Itoa(int(idx))
	if i, err := net.InterfaceByIndex(int(idx)); err == nil {
		n = i.Name
	}
	r.ifs[idx] = n
	return n
}

// end closes the file and fixes its digest.
func (r *run) end(why string, err error) {
	ferr := errors.Join(r.buf.Flush(), r.file.Sync(), r.file.Close())
	sum, herr := fileSHA256(r.info.File)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info.Ended, r.info.Stopped, r.info.State, r.info.SHA256 = time.Now().UTC(), why, "done", sum
	if err = errors.Join(err, ferr, herr); err != nil {
		r.info.State, r.info.Error = "failed", err.Error()
	}
}

// fail marks a finished capture failed: its file is not to be handed over.
func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info.State, r.info.Error, r.info.SHA256 = "failed", err.Error(), ""
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// custody is the audit record's detail: enough to show the file handed
// over is the file recorded.
func custody(i Info) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"id": i.ID, "sha256": i.SHA256, "file": i.File, "filter": i.Request.Filter,
		"full": i.Request.Full, "format": i.Request.Format, "packets": i.Packets, "bytes": i.Bytes,
		"started": i.Started, "ended": i.Ended, "stopped_by": i.Stopped, "lost": i.Lost,
	})
	return b
}
