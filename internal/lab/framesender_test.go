package lab

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestFrameSender sends frames through one sender across a veth and
// finds each of them, whole and once, in a capture on the other end.
func TestFrameSender(t *testing.T) {
	l := NewT(t)
	a, err := l.NS("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.NS("b")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Veth(a, "eth0", b, "eth0"); err != nil {
		t.Fatal(err)
	}
	src, err := a.MAC("eth0")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := b.MAC("eth0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Capture("eth0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.FrameSender("eth0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 100
	for i := range n {
		// An ethertype from the local experimental range: no stack takes it.
		frame := append(append(append([]byte{}, dst...), src...), 0x88, 0xb5)
		frame = append(frame, fmt.Appendf(nil, "palisade frame sender %03d", i)...)
		if err := s.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(make([]byte, 13)); err == nil {
		t.Error("a 13-byte frame was sent")
	}
	last := []byte(fmt.Sprintf("palisade frame sender %03d", n-1))
	if err := c.Await("the last frame", Carrying(last), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := fmt.Appendf(nil, "palisade frame sender %03d", i)
		if got := c.Count(func(f []byte) bool { return bytes.HasSuffix(f, m) }); got != 1 {
			t.Errorf("frame %d arrived %d times, want once", i, got)
		}
	}
}
