package inspect

import (
	"log/slog"
	"sync"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
)

// verdictSender is the part of *nfqueue.Nfqueue verdicts go through.
type verdictSender interface {
	SetVerdict(id uint32, verdict int) error
	SetVerdictBatch(id uint32, verdict int) error
}

// Batching: a run of accepted packets gets one NFQNL_MSG_VERDICT_BATCH
// ("accept every packet up to this id") instead of a message each, when
// packets come faster than batchWait apart. A packet that arrives after a
// quiet spell gets its verdict at once, so batching never delays traffic
// on a lightly loaded queue; under load no accepted packet waits longer
// than batchWait.
const (
	batchMax  = 32
	batchWait = 250 * time.Microsecond
)

// verdicts gives one queue's packets their verdicts. A batch verdict also
// covers every earlier packet still in the kernel's queue, so a batch is
// sent only while no packet of this queue is held (waiting for its flow's
// decision), and a drop or a hold first sends the accepts before it.
type verdicts struct {
	mu      sync.Mutex
	nf      verdictSender
	num     uint16
	m       *Metrics
	log     *slog.Logger
	now     func() time.Time
	last    time.Time // arrival of the previous packet
	pending uint32    // highest accepted id not yet sent
	n       int       // accepts in the pending batch
	held    int       // packets held, their verdict sent one by one later
	timer   *time.Timer
}

func newVerdicts(nf verdictSender, num uint16, m *Metrics, log *slog.Logger) *verdicts {
	v := &verdicts{nf: nf, num: num, m: m, log: log, now: time.Now}
	v.timer = time.AfterFunc(time.Hour, v.flushTimer)
	v.timer.Stop()
	return v
}

// give is the verdict of a packet just read from the queue, in the
// queue's order.
func (v *verdicts) give(id uint32, a action) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	busy := now.Sub(v.last) < batchWait
	v.last = now
	switch {
	case a == actAccept && v.held == 0 && (busy || v.n > 0):
		v.pending = id
		v.n++
		if v.n >= batchMax {
			v.flush()
		} else if v.n == 1 {
			v.timer.Reset(batchWait)
		}
	case a == actHold:
		v.flush()
		v.held++
	default:
		v.flush()
		v.send(id, a == actAccept)
	}
}

// release is the verdict of a held packet, once its flow is decided (on
// any queue's goroutine).
func (v *verdicts) release(id uint32, accept bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.held--
	v.send(id, accept)
}

func (v *verdicts) flushTimer() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flush()
}

// close sends what is pending (the inspector is stopping).
func (v *verdicts) close() {
	v.timer.Stop()
	v.flushTimer()
}

func (v *verdicts) flush() {
	if v.n == 0 {
		return
	}
	v.timer.Stop()
	n := v.n
	v.n = 0
	if n == 1 {
		v.send(v.pending, true)
		return
	}
	v.m.verdictMessage("batch")
	if err := v.nf.SetVerdictBatch(v.pending, nfqueue.NfAccept); err != nil {
		v.log.Error("inspect: set batch verdict", "queue", v.num, "up_to", v.pending, "err", err)
	}
}

func (v *verdicts) send(id uint32, accept bool) {
	verdict := nfqueue.NfDrop
	if accept {
		verdict = nfqueue.NfAccept
	}
	v.m.verdictMessage("single")
	if err := v.nf.SetVerdict(id, verdict); err != nil {
		v.log.Error("inspect: set verdict", "queue", v.num, "err", err)
	}
}
