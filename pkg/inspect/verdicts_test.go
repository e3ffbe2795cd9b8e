package inspect

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
)

// kernelQueue models NFQUEUE's side of the verdicts: packets wait in id
// order; a single verdict settles one, a batch verdict every packet up to
// its id (net/netfilter/nfnetlink_queue.c, nfqnl_recv_verdict_batch).
type kernelQueue struct {
	mu       sync.Mutex
	waiting  []uint32
	settled  map[uint32]bool // id -> accepted
	messages []string
	err      error
}

func newKernelQueue() *kernelQueue { return &kernelQueue{settled: map[uint32]bool{}} }

func (k *kernelQueue) enqueue(id uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.waiting = append(k.waiting, id)
}

func (k *kernelQueue) SetVerdict(id uint32, verdict int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.messages = append(k.messages, fmt.Sprintf("%d:%d", id, verdict))
	i := slices.Index(k.waiting, id)
	if i < 0 {
		k.err = fmt.Errorf("verdict for %d, not waiting", id)
		return k.err
	}
	k.waiting = slices.Delete(k.waiting, i, i+1)
	k.settled[id] = verdict == nfqueue.NfAccept
	return nil
}

func (k *kernelQueue) SetVerdictBatch(id uint32, verdict int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.messages = append(k.messages, fmt.Sprintf("<=%d:%d", id, verdict))
	rest := k.waiting[:0]
	for _, w := range k.waiting {
		if w <= id {
			k.settled[w] = verdict == nfqueue.NfAccept
		} else {
			rest = append(rest, w)
		}
	}
	k.waiting = rest
	return nil
}

func (k *kernelQueue) log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.messages)
}

// testVerdicts runs on a clock the test moves.
func testVerdicts(k *kernelQueue) (*verdicts, *time.Time) {
	clock := time.Unix(1e9, 0)
	v := newVerdicts(k, 1, newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	v.now = func() time.Time { return clock }
	return v, &clock
}

func TestVerdictsQuietQueueSendsAtOnce(t *testing.T) {
	k := newKernelQueue()
	v, clock := testVerdicts(k)
	for id := uint32(1); id <= 3; id++ {
		*clock = clock.Add(time.Millisecond)
		k.enqueue(id)
		v.give(id, actAccept)
	}
	want := []string{"1:1", "2:1", "3:1"}
	if got := k.log(); !slices.Equal(got, want) {
		t.Fatalf("messages %v, want %v (one each, nothing waits)", got, want)
	}
}

func TestVerdictsBusyQueueBatches(t *testing.T) {
	k := newKernelQueue()
	v, clock := testVerdicts(k)
	give := func(id uint32, a action) {
		*clock = clock.Add(10 * time.Microsecond)
		k.enqueue(id)
		v.give(id, a)
	}
	give(1, actAccept) // after a quiet spell: at once
	for id := uint32(2); id <= 40; id++ {
		give(id, actAccept)
	}
	give(41, actDrop)
	give(42, actAccept)
	give(43, actHold)
	give(44, actAccept) // one held: no batch may pass it
	v.release(43, true)
	give(45, actAccept)
	give(46, actAccept)
	deadline := time.Now().Add(5 * time.Second)
	for len(k.log()) < 8 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the timer sends the last batch
	}
	want := []string{"1:1", "<=33:1", "<=40:1", "41:0", "42:1", "44:1", "43:1", "<=46:1"}
	if got := k.log(); !slices.Equal(got, want) {
		t.Fatalf("messages\n %v\nwant\n %v", got, want)
	}
}

// Random runs of accepts, drops and holds, fast and slow, with holds
// released later from another goroutine: every packet ends with the
// verdict it was given, and none is settled by a batch while held.
func TestVerdictsNeverSettleAHeldPacket(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 4))
	for round := range 50 {
		k := newKernelQueue()
		v, clock := testVerdicts(k)
		want := map[uint32]bool{}
		var held []uint32
		for id := uint32(1); id <= 300; id++ {
			*clock = clock.Add(time.Duration(rng.IntN(400)) * time.Microsecond)
			k.enqueue(id)
			switch r := rng.IntN(20); {
			case r == 0:
				want[id] = false
				v.give(id, actDrop)
			case r == 1:
				want[id] = rng.IntN(2) == 0
				held = append(held, id)
				v.give(id, actHold)
			default:
				want[id] = true
				v.give(id, actAccept)
			}
			k.mu.Lock()
			for _, h := range held {
				if _, done := k.settled[h]; done {
					k.mu.Unlock()
					t.Fatalf("round %d: held packet %d settled before its release: %v", round, h, k.messages)
				}
			}
			k.mu.Unlock()
			if len(held) > 0 && rng.IntN(8) == 0 {
				h := held[0]
				held = held[1:]
				done := make(chan struct{})
				go func() { v.release(h, want[h]); close(done) }()
				<-done
			}
		}
		for _, h := range held {
			v.release(h, want[h])
		}
		v.close()
		if k.err != nil {
			t.Fatal(k.err)
		}
		if len(k.waiting) != 0 {
			t.Fatalf("round %d: %d packets never got a verdict", round, len(k.waiting))
		}
		for id, accept := range want {
			if k.settled[id] != accept {
				t.Fatalf("round %d: packet %d settled %v, want %v", round, id, k.settled[id], accept)
			}
		}
	}
}
