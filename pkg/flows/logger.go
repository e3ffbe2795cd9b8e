package flows

import (
	"errors"
	"log/slog"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Logger reads the datapath's events, writes them to the file and hands
// them to followers. The datapath already bounds the event rate; a
// follower too slow to keep up misses lines rather than slowing the log.
type Logger struct {
	file  *File
	names func() *Names
	log   *slog.Logger

	mu        sync.Mutex
	followers map[chan Record]Filter
	dropped   uint64 // lines slow followers missed
}

// NewLogger writes to file; names resolves slots at the time of each event.
func NewLogger(file *File, names func() *Names, log *slog.Logger) *Logger {
	return &Logger{file: file, names: names, log: log, followers: map[chan Record]Filter{}}
}

// Run reads rd until it is closed.
func (l *Logger) Run(rd *ringbuf.Reader) {
	for {
		rec, err := rd.Read()
		if errors.Is(err, ringbuf.ErrClosed) {
			return
		}
		if err != nil {
			l.log.Error("read flow-log events", "err", err)
			continue
		}
		if len(rec.RawSample) < int(unsafe.Sizeof(datapath.BoundaryPalEvent{})) {
			continue
		}
		e := (*datapath.BoundaryPalEvent)(unsafe.Pointer(&rec.RawSample[0]))
		r := fromEvent(e, l.names(), monoToWall)
		l.emit(&r)
	}
}

// Ended writes the end record of a flow the sweep removed.
func (l *Logger) Ended(e datapath.EndedFlow) {
	r := fromEnded(e, l.names(), monoToWall)
	l.emit(&r)
}

func (l *Logger) emit(r *Record) {
	if err := l.file.Write(r); err != nil {
		l.log.Error("write flow log", "err", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch, f := range l.followers {
		if !f.Match(r) {
			continue
		}
		select {
		case ch <- *r:
		default:
			l.dropped++
		}
	}
}

// Follow returns new records matching f until cancel is called.
func (l *Logger) Follow(f Filter) (records <-chan Record, cancel func()) {
	ch := make(chan Record, 1024)
	l.mu.Lock()
	l.followers[ch] = f
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.followers, ch)
		l.mu.Unlock()
	}
}

// Stats are lines written, files rotated and lines slow followers missed.
func (l *Logger) Stats() (written, rotated, followerDropped uint64) {
	written, rotated = l.file.Stats()
	l.mu.Lock()
	defer l.mu.Unlock()
	return written, rotated, l.dropped
}

// monoToWall converts the datapath's CLOCK_MONOTONIC stamps to wall time.
var monoToWall clock = datapath.WallTime
